using System.Security.Claims;
using Dapper;
using FamiljecentralHub.Contracts.Disclosures;
using FamiljecentralHub.Contracts.Organisation;
using FamiljecentralHub.Operations.Sending;
using FamiljecentralHub.ServiceDefaults.Messaging;
using FamiljecentralHub.ServiceDefaults.Pseudonyms;
using FamiljecentralHub.ServiceDefaults.Security;
using MassTransit;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Npgsql;

namespace FamiljecentralHub.Operations.Webhooks.Tests;

/// <summary>
/// The sender's idempotency record against a real PostgreSQL (docs/design-decisions.md, "A permit is bound to one
/// message"). The broker is not the subject here: a recording endpoint stands in for it, so a test can say exactly what
/// was published and make a publish go unconfirmed.
/// </summary>
public sealed class IdempotencyKeyStoreTests(PostgresFixture postgres) : IClassFixture<PostgresFixture>
{
    private const string Unit = "rosengard-bvc";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static DisclosureDraft Draft(string subject, string receiver = "rosengard-socialtjanst") =>
        new(receiver, Purpose.Referral, [InformationCategory.FamilySituation], subject, """{"reason":"Stöd."}""", null, "SE2321000016-BVC1");

    [Fact]
    public async Task Submit_ConcurrentRequestsWithOneKeyAndTwoBodies_ExactlyOneBodyIsAcceptedAndPublished()
    {
        var db = await postgres.NewDatabaseAsync();
        var broker = new RecordingBroker();
        var sender = Sender(db, broker);

        var results = await Task.WhenAll(Enumerable.Range(0, 20).Select(i =>
            Task.Run(() => sender.SubmitAsync(Unit, "referrals", Draft(i % 2 == 0 ? "202403152388" : "202403162387"), Caller(), "k-race", Ct))));

        var accepted = results.Select((r, i) => (r.Result, Subject: i % 2 == 0 ? "202403152388" : "202403162387"))
            .Where(r => r.Result == SubmitResult.Accepted).Select(r => r.Subject).Distinct().ToList();
        accepted.ShouldHaveSingleItem("one body wins the key");
        results.Count(r => r.Result == SubmitResult.KeyReused).ShouldBe(10);
        broker.Sent.Select(m => m.SubjectId).Distinct().ShouldBe(accepted, "only the winning body is ever published");
    }

    [Fact]
    public async Task Submit_AfterAnUnconfirmedPublish_TheSameRequestSucceedsAndAnotherIsRefused()
    {
        var db = await postgres.NewDatabaseAsync();
        var broker = new RecordingBroker { Confirm = false };
        var sender = Sender(db, broker);

        (await sender.SubmitAsync(Unit, "referrals", Draft("202403152388"), Caller(), "k-retry", Ct)).Result.ShouldBe(SubmitResult.NotConfirmed);
        broker.Confirm = true;

        (await sender.SubmitAsync(Unit, "referrals", Draft("202403162387"), Caller(), "k-retry", Ct)).Result.ShouldBe(SubmitResult.KeyReused);
        var retried = await sender.SubmitAsync(Unit, "referrals", Draft("202403152388"), Caller(), "k-retry", Ct);
        retried.Result.ShouldBe(SubmitResult.Accepted);
        retried.MessageId.ShouldBe(DisclosureSender.MessageIdFor(Unit, "k-retry"));
        var again = await sender.SubmitAsync(Unit, "referrals", Draft("202403152388"), Caller(), "k-retry", Ct);
        again.ShouldBe(retried);
        broker.Sent.Count.ShouldBe(1, "once confirmed, the same request is answered without publishing again");
        broker.Sent.ShouldAllBe(m => m.SubjectId == "202403152388");
    }

    [Fact]
    public async Task Submit_TheSameKeyForAnotherRoute_IsRefused()
    {
        var db = await postgres.NewDatabaseAsync();
        var broker = new RecordingBroker();
        var sender = Sender(db, broker);

        (await sender.SubmitAsync(Unit, "referrals", Draft("202403152388"), Caller(), "k-route", Ct)).Result.ShouldBe(SubmitResult.Accepted);
        (await sender.SubmitAsync(Unit, "joint-plans", Draft("202403152388"), Caller(), "k-route", Ct)).Result.ShouldBe(SubmitResult.KeyReused);
        broker.Sent.Count.ShouldBe(1);
    }

    /// <summary>Skipping the check when the database is down would reopen the hole: the request is refused for now instead.</summary>
    [Fact]
    public async Task Submit_WithAKeyWhileTheDatabaseIsDown_IsRefusedForNowAndNothingIsPublished()
    {
        await using var down = NpgsqlDataSource.Create("Host=127.0.0.1;Port=1;Username=x;Password=x;Database=x;Timeout=2");
        var broker = new RecordingBroker();

        var result = await Sender(down, broker).SubmitAsync(Unit, "referrals", Draft("202403152388"), Caller(), "k-down", Ct);

        result.Result.ShouldBe(SubmitResult.KeyStoreUnavailable);
        broker.Sent.ShouldBeEmpty();
    }

    [Fact]
    public async Task Submit_KeyIsNotStoredItself_OnlyTheMessageIdAndFingerprint()
    {
        var db = await postgres.NewDatabaseAsync();
        const string key = "k-202403152388";

        await Sender(db, new RecordingBroker()).SubmitAsync(Unit, "referrals", Draft("202403152388"), Caller(), key, Ct);

        await using var connection = await db.OpenConnectionAsync(Ct);
        var row = await connection.QuerySingleAsync<string>("SELECT row_to_json(k)::text FROM idempotency_keys k");
        row.ShouldNotContain("202403152388");
    }

    private static DisclosureSender Sender(NpgsqlDataSource db, RecordingBroker broker) => new(
        new OperationDescriptor("child-health", OperationType.ChildHealth),
        broker,
        db,
        new Pseudonymizer(Options.Create(new PseudonymOptions { Key = Convert.ToBase64String(new byte[32]) })),
        Options.Create(new RabbitMqOptions()),
        TimeProvider.System,
        NullLogger<DisclosureSender>.Instance);

    private static ClaimsPrincipal Caller() =>
        new(new ClaimsIdentity([new Claim(CallerTokenDefaults.SubjectClaim, "bvc-ehr")], "test"));

    /// <summary>Stands in for the broker: records what is submitted, or fails it as an unconfirmed publish.</summary>
    private sealed class RecordingBroker : ISendEndpointProvider, ISendEndpoint
    {
        private readonly Lock gate = new();

        public bool Confirm { get; set; } = true;

        public List<SubmitDisclosure> Sent { get; } = [];

        public Task<ISendEndpoint> GetSendEndpoint(Uri address) => Task.FromResult<ISendEndpoint>(this);

        public ConnectHandle ConnectSendObserver(ISendObserver observer) => throw new NotSupportedException();

        public Task Send<T>(T message, IPipe<SendContext<T>> pipe, CancellationToken cancellationToken = default) where T : class
        {
            if (!Confirm)
            {
                throw new TimeoutException("not confirmed");
            }

            lock (gate)
            {
                Sent.Add((message as SubmitDisclosure)!);
            }

            return Task.CompletedTask;
        }

        public Task Send<T>(T message, CancellationToken cancellationToken = default) where T : class => Send(message, Pipe.Empty<SendContext<T>>(), cancellationToken);
        public Task Send<T>(T message, IPipe<SendContext> pipe, CancellationToken cancellationToken = default) where T : class => throw new NotSupportedException();
        public Task Send(object message, CancellationToken cancellationToken = default) => throw new NotSupportedException();
        public Task Send(object message, Type messageType, CancellationToken cancellationToken = default) => throw new NotSupportedException();
        public Task Send(object message, IPipe<SendContext> pipe, CancellationToken cancellationToken = default) => throw new NotSupportedException();
        public Task Send(object message, Type messageType, IPipe<SendContext> pipe, CancellationToken cancellationToken = default) => throw new NotSupportedException();
        public Task Send<T>(object values, CancellationToken cancellationToken = default) where T : class => throw new NotSupportedException();
        public Task Send<T>(object values, IPipe<SendContext<T>> pipe, CancellationToken cancellationToken = default) where T : class => throw new NotSupportedException();
        public Task Send<T>(object values, IPipe<SendContext> pipe, CancellationToken cancellationToken = default) where T : class => throw new NotSupportedException();
    }
}
