using System.Globalization;
using System.Net;
using System.Security.Claims;
using System.Text;
using System.Text.RegularExpressions;
using FamiljecentralHub.Contracts.Disclosures;
using FamiljecentralHub.Contracts.Operations;
using FamiljecentralHub.ServiceDefaults.Organisation;
using FamiljecentralHub.ServiceDefaults.Pseudonyms;
using FamiljecentralHub.ServiceDefaults.Security;
using FamiljecentralHub.Topology;
using MassTransit;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RabbitMQ.Client.Exceptions;

namespace FamiljecentralHub.ServiceDefaults.Messaging;

/// <summary>One error queue as the console lists it: how many messages it holds, and the first of them by metadata.</summary>
public sealed record ListedErrorQueue(string Queue, long Count, IReadOnlyList<ListedErrorCopy> Messages);

/// <summary>One error copy, metadata only (<see cref="ErrorCopy"/>), with its age.</summary>
public sealed record ListedErrorCopy(ErrorCopy Copy, long? AgeSeconds);

public sealed record ErrorQueueListing(string Service, IReadOnlyList<ListedErrorQueue> Queues);

public sealed record RedriveResult(Guid ActionId, int Redriven, int NotFound);

/// <summary>
/// A service's own error queues for the operations console (issue 13, "Dead letters"): listed by metadata and redriven
/// by the service itself, with its own broker user, so no other part of the hub needs to read them (docs/error-queues.md).
/// Reached through the gateway by an operations client, whose scope (<see cref="OperatorScopes"/>) limits what it sees
/// and may redrive to messages one of its principal's units sends or receives. Every redrive is first published as an
/// <see cref="OperatorActionTaken"/>, confirmed by the broker, for the ledger: an action the ledger may lack is not taken.
/// The console's page asks for an HTML fragment (htmx's HX-Request); any other caller gets JSON.
/// </summary>
public static partial class ErrorQueueApi
{
    /// <summary>Listed per queue; a queue holding more is counted in full and listed this far.</summary>
    public const int MaxListed = 200;

    public const int MaxRedrive = 1000;

    /// <summary>One error-queue operation at a time in this process: a message another one holds is invisible meanwhile.</summary>
    private static readonly SemaphoreSlim OneAtATime = new(1, 1);

    public static IEndpointRouteBuilder MapErrorQueueApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/errors", List)
            .WithSummary("This service's error queues, metadata only, for operations clients within their scope; HTML for the console.");
        app.MapPost("/errors/redrive", Redrive)
            .WithSummary("Redrives chosen error copies (or all in scope) through each queue's way back; recorded in the ledger first.")
            .DisableAntiforgery();
        return app;
    }

    private static async Task<IResult> List(
        HttpContext http, ClaimsPrincipal caller, HubService self, IOptions<RabbitMqOptions> broker, Pseudonymizer pseudonyms,
        OrganisationRegistry registry, TimeProvider clock, CancellationToken cancellationToken)
    {
        if (Refusal(http, caller) is { } refused)
        {
            return refused;
        }

        var scope = caller.Operates()!;
        var listing = await WithQueuesAsync(broker.Value, self, pseudonyms, registry, cancellationToken, (queues, copies) =>
        {
            var now = clock.GetUtcNow();
            var listed = queues.Select(q => new ListedErrorQueue(q.Queue,
                copies.Count(c => c.Queue == q && Sees(scope, c.Copy, registry)),
                [.. copies.Where(c => c.Queue == q && Sees(scope, c.Copy, registry)).Take(MaxListed).Select(c => new ListedErrorCopy(c.Copy, Age(c.Copy, now)))]));
            return Task.FromResult(new ErrorQueueListing(self.Name, [.. listed]));
        });
        if (listing is null)
        {
            return Unavailable();
        }

        return IsConsole(http.Request) ? Html(Fragment(listing)) : TypedResults.Ok(listing);
    }

    private static async Task<IResult> Redrive(
        HttpContext http, ClaimsPrincipal caller, HubService self, IOptions<RabbitMqOptions> broker, Pseudonymizer pseudonyms,
        OrganisationRegistry registry, IPublishEndpoint publish, TimeProvider clock, ILoggerFactory loggers, CancellationToken cancellationToken)
    {
        if (Refusal(http, caller) is { } refused)
        {
            return refused;
        }

        if (!http.Request.HasFormContentType)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status415UnsupportedMediaType, title: "Post the redrive form (application/x-www-form-urlencoded)");
        }

        var form = await http.Request.ReadFormAsync(cancellationToken);
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        var all = form["all"].ToString() == "true";
        var ids = new HashSet<string>(StringComparer.Ordinal);
        foreach (var value in form["messageId"])
        {
            if (!Guid.TryParse(value, out var id))
            {
                errors["messageId"] = ["each must be a message id (a UUID)"];
                break;
            }

            ids.Add(id.ToString());
        }

        if (ids.Count > MaxRedrive)
        {
            errors["messageId"] = [$"at most {MaxRedrive} at a time"];
        }
        else if (ids.Count == 0 && !all)
        {
            errors["messageId"] = ["choose messages, or all"];
        }

        var reason = form["reason"].ToString();
        if (!OperatorActions.Reasons.Contains(reason))
        {
            errors["reason"] = [$"must be one of: {string.Join(", ", OperatorActions.Reasons)}"];
        }

        var ticket = form["ticket"].ToString() is { Length: > 0 } t ? t : null;
        if (ticket is not null && !IsTicket(ticket))
        {
            errors["ticket"] = ["a case reference: letters, digits and dashes, at most 40"];
        }

        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors, title: "The redrive is not valid");
        }

        var scope = caller.Operates()!;
        var logger = loggers.CreateLogger(typeof(ErrorQueueApi));
        var result = await WithQueuesAsync(broker.Value, self, pseudonyms, registry, cancellationToken, async (queues, copies) =>
        {
            var chosen = copies.Where(c => Sees(scope, c.Copy, registry) && (all || ids.Contains(c.Copy.MessageId))).ToList();
            var actionId = Guid.CreateVersion7();
            if (chosen.Count == 0)
            {
                return new RedriveResult(actionId, 0, ids.Count);
            }

            // First the record, confirmed by the broker; then the action. A failure here leaves every copy where it was.
            await publish.Publish(new OperatorActionTaken
            {
                ActionId = actionId,
                Service = self.Name,
                Action = OperatorActions.Redrive,
                Operator = caller.ClientId(),
                Scope = scope,
                Reason = reason,
                Ticket = ticket,
                MessageIds = [.. chosen.Select(c => Guid.TryParse(c.Copy.MessageId, out var id) ? id : Guid.Empty)],
                Queues = [.. chosen.Select(c => c.Queue.Queue).Distinct()],
                At = clock.GetUtcNow(),
            }, cancellationToken);
            foreach (var (queue, message, _) in chosen)
            {
                await queue.RedriveAsync(message, cancellationToken);
            }

            LogRedriven(logger, actionId, chosen.Count, caller.ClientId());
            return new RedriveResult(actionId, chosen.Count, all ? 0 : ids.Count(id => chosen.All(c => c.Copy.MessageId != id)));
        });
        if (result is null)
        {
            return Unavailable();
        }

        if (result.Redriven == 0)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "None of those messages is in this service's error queues within your scope",
                detail: "They may have been redriven already.");
        }

        return IsConsole(http.Request)
            ? Html($"<p class=\"ok\" data-redriven=\"{result.Redriven}\">{result.Redriven} message(s) redriven from {E(self.Name)} (action {result.ActionId}); {result.NotFound} not found. Reload the list to see what is left.</p>")
            : TypedResults.Ok(result);
    }

    /// <summary>
    /// Opens every error queue of the service, takes what they hold (unacknowledged), runs <paramref name="work"/>, and
    /// closes the channels, which puts back every copy not redriven. Null when the broker fails.
    /// </summary>
    private static async Task<T?> WithQueuesAsync<T>(
        RabbitMqOptions broker, HubService self, Pseudonymizer pseudonyms, OrganisationRegistry registry, CancellationToken cancellationToken,
        Func<IReadOnlyList<ErrorQueue>, List<(ErrorQueue Queue, HeldMessage Message, ErrorCopy Copy)>, Task<T>> work)
        where T : class
    {
        await OneAtATime.WaitAsync(cancellationToken);
        var queues = new List<ErrorQueue>();
        try
        {
            await using var connection = await broker.ConnectAsync($"{self.Name} console errors", cancellationToken);
            var copies = new List<(ErrorQueue Queue, HeldMessage Message, ErrorCopy Copy)>();
            foreach (var queue in self.ReceiveQueues)
            {
                var errors = await ErrorQueue.OpenAsync(connection, queue, cancellationToken);
                queues.Add(errors);
                foreach (var message in await errors.TakeAllAsync(cancellationToken))
                {
                    copies.Add((errors, message, ErrorCopy.Describe(errors.Queue, message.Properties.MessageId, message.Properties.Headers, message.Body.Span, pseudonyms, registry)));
                }
            }

            return await work(queues, copies);
        }
        catch (Exception e) when (e is BrokerUnreachableException or OperationInterruptedException or AlreadyClosedException or RabbitMQ.Client.Exceptions.PublishException or MassTransitException)
        {
            return null;
        }
        finally
        {
            foreach (var queue in queues)
            {
                await queue.DisposeAsync();
            }

            OneAtATime.Release();
        }
    }

    /// <summary>Only operations clients, and no form from another site (as the console's own pages: Ops ConsoleApi).</summary>
    private static IResult? Refusal(HttpContext http, ClaimsPrincipal caller)
    {
        http.Response.Headers.XContentTypeOptions = "nosniff";
        http.Response.Headers.CacheControl = "no-store";
        if (caller.Operates() is null)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status403Forbidden, title: "Error queues are for operations clients");
        }

        var site = http.Request.Headers["Sec-Fetch-Site"].ToString();
        var sameOrigin = site == "same-origin" || (site.Length == 0 && IsConsole(http.Request)) || (site.Length == 0 && HttpMethods.IsGet(http.Request.Method));
        return sameOrigin ? null : TypedResults.Problem(statusCode: StatusCodes.Status403Forbidden, title: "A request from another site is not accepted");
    }

    /// <summary>
    /// A copy whose units the registry does not know is the hub's operators' alone to see. The receiving principal sees
    /// only deliveries, which the gate has permitted: a submission not yet decided, or a status event, may be about a
    /// message that is refused, and a refusal never reveals to the receiver that a message existed (domain.md section 5).
    /// </summary>
    private static bool Sees(string scope, ErrorCopy copy, OrganisationRegistry registry) =>
        scope == OperatorScopes.Hub
        || registry.FindUnit(copy.SendingUnit)?.Principal == scope
        || (copy.MessageType == nameof(DeliverDisclosure) && registry.FindUnit(copy.ReceivingUnit)?.Principal == scope);

    private static long? Age(ErrorCopy copy, DateTimeOffset now) =>
        DateTimeOffset.TryParse(copy.FaultedAt, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at) ? (long)(now - at).TotalSeconds : null;

    private static bool IsConsole(HttpRequest request) => request.Headers["HX-Request"] == "true";

    private static IResult Unavailable() => TypedResults.Problem(statusCode: StatusCodes.Status503ServiceUnavailable,
        title: "The broker did not answer", detail: "Nothing was redriven. Try again.");

    private static IResult Html(string fragment) => TypedResults.Content(fragment, "text/html; charset=utf-8");

    /// <summary>The service's section of the console's dead-letter page: a form whose checkboxes name the copies.</summary>
    private static string Fragment(ErrorQueueListing listing)
    {
        var html = new StringBuilder();
        var service = E(listing.Service);
        html.Append(CultureInfo.InvariantCulture, $"<form hx-post=\"/{service}/errors/redrive\" hx-target=\"#result-{service}\" data-service=\"{service}\">");
        html.Append("<table><thead><tr><th>Error queue</th><th class=\"n\">Messages</th></tr></thead><tbody>");
        foreach (var queue in listing.Queues)
        {
            html.Append(CultureInfo.InvariantCulture, $"<tr><td>{E(queue.Queue)}</td><td class=\"n\" data-queue=\"{E(queue.Queue)}\" data-count=\"{queue.Count}\">{queue.Count}</td></tr>");
        }

        html.Append("</tbody></table>");
        var listed = listing.Queues.SelectMany(q => q.Messages.Select(m => (q.Queue, m.Copy, m.AgeSeconds))).ToList();
        if (listed.Count > 0)
        {
            html.Append("<table><thead><tr><th></th><th>Message</th><th>Queue</th><th>Type</th><th>From unit</th><th>To unit</th><th>Purpose</th><th>Subject (pseudonym)</th><th>Reason</th><th class=\"n\">Age</th><th class=\"n\">Retries</th></tr></thead><tbody>");
            foreach (var (queue, copy, age) in listed)
            {
                html.Append(CultureInfo.InvariantCulture,
                    $"<tr><td><input type=\"checkbox\" name=\"messageId\" value=\"{E(copy.MessageId)}\" aria-label=\"choose {E(copy.MessageId)}\"></td><td>{E(copy.MessageId)}</td><td>{E(queue)}</td><td>{E(copy.MessageType)}</td>")
                    .Append(CultureInfo.InvariantCulture, $"<td>{E(copy.SendingUnit)}</td><td>{E(copy.ReceivingUnit)}</td><td>{E(copy.Purpose)}</td><td>{E(copy.Subject)}</td>")
                    .Append(CultureInfo.InvariantCulture, $"<td>{E(copy.Reason)}</td><td class=\"n\">{(age is { } a ? E(TimeSpan.FromSeconds(a).ToString("c", CultureInfo.InvariantCulture)) : "–")}</td><td class=\"n\">{E(copy.Retries)}</td></tr>");
            }

            html.Append("</tbody></table>");
        }

        if (listing.Queues.Any(q => q.Count > 0))
        {
            html.Append("<p><label>Why <select name=\"reason\">");
            foreach (var reason in OperatorActions.Reasons)
            {
                html.Append(CultureInfo.InvariantCulture, $"<option>{E(reason)}</option>");
            }

            html.Append("</select></label> <label>Case <input name=\"ticket\" size=\"12\" pattern=\"[A-Za-z0-9][A-Za-z0-9-]{0,39}\"></label> ")
                .Append("<button type=\"submit\">Redrive chosen</button> <button type=\"submit\" name=\"all\" value=\"true\">Redrive all</button></p>");
        }

        html.Append(CultureInfo.InvariantCulture, $"</form><div id=\"result-{service}\"></div>");
        return html.ToString();
    }

    private static string E(string? value) => WebUtility.HtmlEncode(value ?? "");

    /// <summary>A case reference: letters, digits and dashes, at most 40.</summary>
    public static bool IsTicket(string ticket) => TicketShape().IsMatch(ticket);

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9-]{0,39}\\z")]
    private static partial Regex TicketShape();

    [LoggerMessage(Level = LogLevel.Information, Message = "Operator action {ActionId}: {Count} error copies redriven, asked by {Operator}")]
    private static partial void LogRedriven(ILogger logger, Guid actionId, int count, string @operator);
}
