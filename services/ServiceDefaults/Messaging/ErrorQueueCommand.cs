using System.ComponentModel.DataAnnotations;
using System.Diagnostics.CodeAnalysis;
using FamiljecentralHub.ServiceDefaults.Organisation;
using FamiljecentralHub.ServiceDefaults.Pseudonyms;
using FamiljecentralHub.Topology;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using RabbitMQ.Client.Exceptions;

namespace FamiljecentralHub.ServiceDefaults.Messaging;

/// <summary>
/// <c>dotnet FamiljecentralHub.&lt;Service&gt;.dll errors</c>: lists the messages in every error queue of the service,
/// metadata only; <c>errors redrive &lt;message-id&gt;</c> and <c>errors redrive --all</c> put them back, each through
/// its queue's way back (docs/error-queues.md): the gate's submissions to the gate, which decides them again; a delivery
/// to the gate too, which sends again only what its ledger permitted; any other message to its own queue. Runs with the
/// service's own configuration: its broker user (RabbitMq section), its pseudonym key and its organisation file.
/// </summary>
/// <remarks>Exit codes, for scripts and monitoring checks: see the constants.</remarks>
public static class ErrorQueueCommand
{
    /// <summary>Listed, or every message asked for redriven.</summary>
    public const int Done = 0;

    /// <summary>Redrive of one id: no message with that id is in any of the service's error queues (perhaps already redriven).</summary>
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

    public static bool IsInvoked(string[] args) => args is ["errors", ..];

    /// <param name="service">The service's name as the broker knows it ("consent", "child-health", …).</param>
    public static async Task<int> RunAsync(string[] args, IConfiguration configuration, string service)
    {
        if (Parse(args) is not { } request)
        {
            await Console.Error.WriteLineAsync($"""
                usage: errors                         list the error queues of {service}, metadata only
                       errors redrive <message-id>    put that message back
                       errors redrive --all           put every listed message back
                """);
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
            await using var connection = await broker.ConnectAsync($"{service} errors command", cancellationToken);
            var queues = new List<ErrorQueue>();
            try
            {
                var copies = new List<(ErrorQueue Queue, HeldMessage Message, ErrorCopy Copy)>();
                foreach (var queue in Queues.ReceiveQueuesOf(service))
                {
                    var errors = await ErrorQueue.OpenAsync(connection, queue, cancellationToken);
                    queues.Add(errors);
                    var held = await errors.TakeAllAsync(cancellationToken);
                    copies.AddRange(held.Select(message => (errors, message, ErrorCopy.Describe(
                        errors.Queue, message.Properties.MessageId, message.Properties.Headers, message.Body.Span, pseudonyms, registry))));
                    if (!request.Redrive)
                    {
                        Console.WriteLine($"{errors.Queue}: {held.Count} message(s)");
                    }
                }

                if (!request.Redrive)
                {
                    foreach (var (_, _, copy) in copies)
                    {
                        Console.WriteLine(copy);
                    }

                    return Done;
                }

                var chosen = copies.Where(c => request.MessageId is not { } id || c.Copy.MessageId == id.ToString()).ToList();
                if (chosen.Count == 0 && request.MessageId is { } missing)
                {
                    await Console.Error.WriteLineAsync($"No message {missing} in the error queues of {service}.");
                    return NotFound;
                }

                foreach (var (queue, message, copy) in chosen)
                {
                    await queue.RedriveAsync(message, cancellationToken);
                    Console.WriteLine($"redriven message-id={copy.MessageId} from {queue.Queue} through {queue.WayBack}");
                }

                Console.WriteLine($"{chosen.Count} message(s) redriven; {copies.Count - chosen.Count} left in the error queues.");
                return Done;
            }
            finally
            {
                // Closing the channels puts back every message taken and not redriven.
                foreach (var queue in queues)
                {
                    await queue.DisposeAsync();
                }
            }
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

    private static bool TryBind<T>(IConfiguration configuration, string section, [NotNullWhen(true)] out T? options)
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
