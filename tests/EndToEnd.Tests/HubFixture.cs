using System.Globalization;
using System.Net.Http.Json;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using FamiljecentralHub.LocalHub.Clients;
using FamiljecentralHub.LocalHub.Pki;
using FamiljecentralHub.LocalHub;
using FamiljecentralHub.ServiceDefaults.Security;
using FamiljecentralHub.ServiceDefaults.Tls;
using FamiljecentralHub.Tests.Support;

[assembly: AssemblyFixture(typeof(FamiljecentralHub.EndToEnd.Tests.HubFixture))]

// One hub, whole flows: tests that assert what a unit has sent must not see another test's messages arrive meanwhile.
[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace FamiljecentralHub.EndToEnd.Tests;

/// <summary>
/// One whole hub for the test assembly: real RabbitMQ and PostgreSQL, every service as its own process, the real
/// gateway with the demo PKI. Tests use distinct subjects, so they do not see each other's messages.
/// </summary>
public sealed class HubFixture : IAsyncLifetime
{
    private static int nextSubject = Random.Shared.Next(0, 100_000);
    private static int nextAdult = Random.Shared.Next(0, 700);

    public Hub Hub { get; private set; } = null!;

    public DemoPki Pki { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        Hub = await Hub.StartAsync(new HubOptions
        {
            UseFreePorts = true,
            // The tests' webhook receivers listen on 127.0.0.1; a real hub refuses loopback (docs/webhooks.md).
            ConfigureEnvironment = (_, environment) => environment["Webhooks__TestOnlyAllowLoopbackReceivers"] = "true",
        });
        Pki = DemoPki.Ensure(Hub.PkiDir, Hub.ClientIds);
    }

    public async ValueTask DisposeAsync() => await Hub.DisposeAsync();

    public HttpClient Client(string clientId) => HubHttp.CreateClient(Pki, clientId, Hub.GatewayUrl);

    /// <summary>A client that sees a redirect as its answer rather than following it.</summary>
    public HttpClient ClientWithoutRedirects(string clientId) => HubHttp.CreateClient(Pki, clientId, Hub.GatewayUrl, followRedirects: false);

    /// <summary>The gateway's hop certificate with its key: what the gateway presents to every service.</summary>
    public X509Certificate2 GatewayHopCertificate() => Pki.LoadInternalCertificate(Pki.GatewayHopCertificatePath, Pki.GatewayHopKeyPath);

    /// <summary>Caller tokens as the gateway issues them: signed with its key and bound to its hop certificate.</summary>
    public CallerTokenIssuer GatewayTokens() => new(Pki.CallerTokenPrivateKeyPath, GatewayHopCertificate());

    /// <summary>
    /// A handler for going straight to a service port, past the gateway: TLS trusting only the internal CA, presenting
    /// <paramref name="certificate"/> (the gateway's hop certificate to pass as the gateway, or none).
    /// </summary>
    public SocketsHttpHandler DirectHandler(X509Certificate2? certificate) =>
        InternalTls.CreateHandler(InternalTls.LoadAuthorities(Pki.InternalCaCertificatePath), certificate);

    /// <summary>A client for a service's own port; with <paramref name="certificate"/> null it presents none (enough for health and metrics).</summary>
    public HttpClient Direct(string service, X509Certificate2? certificate = null) =>
        new(DirectHandler(certificate)) { BaseAddress = Hub.ServiceUrl(service) };

    public static string NewSubject() => DemoIdentityNumbers.Child(Interlocked.Increment(ref nextSubject));

    /// <summary>A made-up adult's number (a guardian, an expectant parent), distinct per call, with a correct check digit.</summary>
    public static string NewAdult()
    {
        var serial = 200 + (Interlocked.Increment(ref nextAdult) % 700);
        var nine = string.Create(CultureInfo.InvariantCulture, $"850315{serial:000}");
        return string.Create(CultureInfo.InvariantCulture, $"19{nine}{DemoIdentityNumbers.CheckDigit(nine)}");
    }

    /// <summary>Polls the sender's status view until the message reaches <paramref name="status"/> (or a final one).</summary>
    public static async Task<JsonElement> WaitForStatusAsync(HttpClient sender, string statusUrl, string status, TimeSpan? timeout = null) =>
        await Eventually.MatchAsync(
            async () =>
            {
                var response = await sender.GetAsync(statusUrl);
                return response.IsSuccessStatusCode ? await response.Content.ReadFromJsonAsync<JsonElement>() : default;
            },
            last => last.ValueKind == JsonValueKind.Object && last.GetProperty("status").GetString() == status,
            timeout ?? TimeSpan.FromSeconds(30),
            last => $"{statusUrl} did not reach {status}; last seen: {(last.ValueKind == JsonValueKind.Undefined ? "nothing" : last.ToString())}",
            TimeSpan.FromMilliseconds(100));

    /// <summary>
    /// The cursor of the last item waiting in the demo social-services unit's inbox, or null when none waits: where a
    /// test that lists the inbox starts, so that what other tests left unacknowledged does not hold it back.
    /// </summary>
    public static async Task<string?> InboxEndAsync(HttpClient social)
    {
        string? after = null;
        while (true)
        {
            var page = await social.GetFromJsonAsync<JsonElement>($"{DemoRequests.InboxPath}?limit=500{(after is null ? "" : "&after=" + after)}");
            var items = page.GetProperty("items").EnumerateArray().ToList();
            if (items.Count == 0)
            {
                return after;
            }

            after = items[^1].GetProperty("cursor").GetString();
        }
    }

    /// <summary>A referral about a new subject with its guardian's consent, submitted by BVC: its message id and status URL.</summary>
    public static async Task<(Guid Id, string StatusUrl)> SubmitConsentedReferralAsync(HttpClient bvc)
    {
        var subject = NewSubject();
        (await bvc.PostAsJsonAsync(DemoRequests.ConsentPath, DemoRequests.Consent(subject, DateTimeOffset.UtcNow))).StatusCode.ShouldBe(System.Net.HttpStatusCode.Created);
        var submitted = await bvc.PostAsJsonAsync(DemoRequests.ReferralPath, DemoRequests.Referral(subject));
        submitted.StatusCode.ShouldBe(System.Net.HttpStatusCode.Accepted);
        var body = await submitted.Content.ReadFromJsonAsync<JsonElement>();
        return (body.GetProperty("messageId").GetGuid(), body.GetProperty("statusUrl").GetString()!);
    }
}
