using System.Security.Claims;
using System.Text;
using Dapper;
using FamiljecentralHub.ServiceDefaults.Organisation;
using FamiljecentralHub.Topology;
using Npgsql;
using static FamiljecentralHub.Ops.Features.Console.ConsolePage;

namespace FamiljecentralHub.Ops.Features.Console;

/// <summary>
/// One message's way through the hub: when it was sent and by which service, then every step the hub's services
/// reported, with the time, the service that said it, the basis or the reasons. Metadata only: no body ever reaches Ops.
/// </summary>
internal static class TrailPage
{
    private sealed class Step
    {
        public string Status { get; init; } = "";
        public string SendingUnit { get; init; } = "";
        public string ReceivingUnit { get; init; } = "";
        public string Purpose { get; init; } = "";
        public string SubjectPseudonym { get; init; } = "";
        public string? Basis { get; init; }
        public string[] Reasons { get; init; } = [];
        public string? Publisher { get; init; }
        public DateTimeOffset? SubmittedAt { get; init; }
        public DateTimeOffset OccurredAt { get; init; }
    }

    public static async Task<IResult> Show(Guid messageId, ClaimsPrincipal caller, OrganisationRegistry registry, NpgsqlDataSource db, CancellationToken cancellationToken)
    {
        var scope = OperatorScope.Of(caller, registry);
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        var steps = (await connection.QueryAsync<Step>(new CommandDefinition(
            $"""
            SELECT status AS Status, sending_unit AS SendingUnit, receiving_unit AS ReceivingUnit, purpose AS Purpose,
                   subject_pseudonym AS SubjectPseudonym, basis AS Basis, reasons AS Reasons, publisher AS Publisher,
                   submitted_at AS SubmittedAt, occurred_at AS OccurredAt
            FROM message_events WHERE message_id = @messageId AND {OperatorScope.Filter}
            ORDER BY occurred_at, status
            """,
            new { messageId, scope.All, scope.UnitList }, cancellationToken: cancellationToken))).ToList();
        if (steps.Count == 0)
        {
            // The same answer for a message that does not exist and one outside the operator's scope.
            return TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "No such message in your scope");
        }

        var first = steps.FirstOrDefault(s => s.Status != "Conflict") ?? steps[0];
        var sender = registry.FindUnit(first.SendingUnit) is { } unit ? Catalogue.ServiceFor(unit.Operation).Name : "unknown";
        var html = new StringBuilder();
        html.Append($"<dl><dt>Message</dt><dd data-message-id=\"{messageId}\">{messageId}</dd>")
            .Append($"<dt>From</dt><dd>{E(first.SendingUnit)}</dd><dt>To</dt><dd>{E(first.ReceivingUnit)}</dd>")
            .Append($"<dt>Purpose</dt><dd>{E(first.Purpose)}</dd>")
            .Append($"<dt>Subject (pseudonym)</dt><dd><a href=\"{Base}/search?subject={E(first.SubjectPseudonym)}\">{E(first.SubjectPseudonym)}</a></dd></dl>");

        var rows = new List<IEnumerable<string>>();
        if (steps.Select(s => s.SubmittedAt).FirstOrDefault(at => at is not null) is { } submittedAt)
        {
            rows.Add([Time(submittedAt), "Submitted", E(sender), "–", "accepted by the sending service and handed to the gate", "n:–"]);
        }

        foreach (var step in steps)
        {
            var since = steps.Select(s => s.SubmittedAt).FirstOrDefault(at => at is not null) is { } from
                ? Milliseconds((step.OccurredAt - from).TotalMilliseconds)
                : "–";
            rows.Add([Time(step.OccurredAt), E(step.Status), E(step.Publisher ?? "–"), E(step.Basis ?? "–"), E(string.Join("; ", step.Reasons)), "n:" + since]);
        }

        html.Append(Table(["When", "Step", "Service", "Basis", "Reasons", "n:Since submitted"], rows));
        html.Append("<p class=\"note\">The message's content never reaches operations: this trail is what each service reported about it.</p>");
        return Html("Message trail", "/search", scope, html.ToString());
    }
}
