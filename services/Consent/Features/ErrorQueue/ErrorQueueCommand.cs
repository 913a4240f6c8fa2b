using System.ComponentModel.DataAnnotations;
using FamiljecentralHub.ServiceDefaults.Messaging;
using FamiljecentralHub.ServiceDefaults.Organisation;
using FamiljecentralHub.ServiceDefaults.Pseudonyms;
using Microsoft.Extensions.Options;
using RabbitMQ.Client.Exceptions;

namespace FamiljecentralHub.Consent.Features.ErrorQueue;

/// <summary>
/// <c>FamiljecentralHub.Consent errors</c>: lists the messages in the gate's error queue, metadata only;
/// <c>errors redrive &lt;message-id&gt;</c> and <c>errors redrive --all</c> put them back through the redrive exchange,
/// where the gate decides each again (docs/error-queues.md). Runs with the consent service's own configuration: its
/// broker user (RabbitMq section), its pseudonym key and its organisation file.
/// </summary>
/// <remarks>Exit codes, for scripts and monitoring checks: see the constants.</remarks>
internal static class ErrorQueueCommand
{
    /// <summary>Listed, or every message asked for redriven.</summary>
    public const int Done = 0;

    /// <summary>Redrive of one id: no message with that id is in the error queue (perhaps already redriven).</summary>
    public const int NotFound = 1;

    /// <summary>
    /// The broker could not be reached, refused an operation, or did not confirm a redriven copy. Whatever was not
    /// confirmed is still in the error queue; what was is on its way back in. Running the command again is safe.
    /// </summary>
    public const int BrokerFailed = 2;

    /// <summary>The service's configuration lacks the broker login, the pseudonym key or the organisation file.</summary>
    public const int NotConfigured = 3;

    /// <summary>Not one of the three forms (EX_USAGE).</summary>
    public const int Usage = 64;

    private const string UsageText = """
        usage: FamiljecentralHub.Consent errors                         list consent-gate_error, metadata only
               FamiljecentralHub.Consent errors redrive <message-id>    put that message back to the gate
               FamiljecentralHub.Consent errors redrive --all           put every listed message back to the gate
        """;

    public static bool IsInvoked(string[] args) => args is ["errors", ..];

    public static async Task<int> RunAsync(string[] args, IConfiguration configuration)
    {
        if (Parse(args) is not { } request)
        {
            await Console.Error.WriteLineAsync(UsageText);
            return Usage;
        }

        if (!TryBind(configuration, RabbitMqOptions.Section, out RabbitMqOptions? broker)
            || !TryBind(configuration, PseudonymOptions.Section, out PseudonymOptions? pseudonymOptions)
            || !TryBind(configuration, OrganisationOptions.Section, out OrganisationOptions? organisation))
        {
            return NotConfigured;
        }

        var pseudonyms = new Pseudonymizer(Options.Create(pseudonymOptions));
        var registry = new OrganisationRegistry(Options.Create(organisation));
        var cancellationToken = CancellationToken.None;
        try
        {
            await using var queue = await GateErrorQueue.OpenAsync(broker, cancellationToken);
            var held = await queue.TakeAllAsync(cancellationToken);
            var copies = held.Select(message => (Message: message, Copy: ErrorCopy.Describe(
                message.Properties.MessageId, message.Properties.Headers, message.Body.Span, pseudonyms, registry))).ToList();

            if (!request.Redrive)
            {
                Console.WriteLine($"{GateErrorQueue.Queue}: {copies.Count} message(s)");
                foreach (var (_, copy) in copies)
                {
                    Console.WriteLine(copy);
                }

                return Done;
            }

            var chosen = copies.Where(c => request.MessageId is not { } id || c.Copy.MessageId == id.ToString()).ToList();
            if (chosen.Count == 0 && request.MessageId is { } missing)
            {
                await Console.Error.WriteLineAsync($"No message {missing} in {GateErrorQueue.Queue}.");
                return NotFound;
            }

            foreach (var (message, copy) in chosen)
            {
                await queue.RedriveAsync(message, cancellationToken);
                Console.WriteLine($"redriven message-id={copy.MessageId} through {GateErrorQueue.RedriveExchange}");
            }

            Console.WriteLine($"{chosen.Count} message(s) redriven; {copies.Count - chosen.Count} left in {GateErrorQueue.Queue}.");
            return Done;
        }
        catch (Exception e) when (e is BrokerUnreachableException or OperationInterruptedException or AlreadyClosedException or PublishException)
        {
            // The client's messages name the broker, the vhost, the user and the refused resource: no message content.
            await Console.Error.WriteLineAsync($"The broker failed: {e.GetType().Name}: {e.Message}");
            return BrokerFailed;
        }
    }

    private static Request? Parse(string[] args) => args switch
    {
        ["errors"] => new Request(Redrive: false, MessageId: null),
        ["errors", "redrive", "--all"] => new Request(Redrive: true, MessageId: null),
        ["errors", "redrive", var id] when Guid.TryParse(id, out var messageId) => new Request(Redrive: true, messageId),
        _ => null,
    };

    /// <summary>List, or redrive one message (<see cref="MessageId"/>) or all (null).</summary>
    private sealed record Request(bool Redrive, Guid? MessageId);

    private static bool TryBind<T>(IConfiguration configuration, string section, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out T? options)
        where T : class, new()
    {
        options = configuration.GetSection(section).Get<T>() ?? new T();
        var problems = new List<ValidationResult>();
        if (Validator.TryValidateObject(options, new ValidationContext(options), problems, validateAllProperties: true))
        {
            return true;
        }

        foreach (var problem in problems)
        {
            Console.Error.WriteLine($"{section}: {problem.ErrorMessage}");
        }

        options = null;
        return false;
    }
}
