using System.Globalization;
using System.Security.Claims;
using Dapper;
using FamiljecentralHub.Consent.Features.Accountability;
using FamiljecentralHub.Consent.Features.Ledger;
using FamiljecentralHub.ServiceDefaults.Organisation;
using FamiljecentralHub.ServiceDefaults.Security;
using FamiljecentralHub.Topology;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.WebUtilities;
using Npgsql;

namespace FamiljecentralHub.Consent.Features.Fhir;

/// <summary>
/// The ledger as FHIR R4 <c>AuditEvent</c>s (<see cref="FhirAuditEvents"/>), for the data controller's staff who follow
/// up the log (HSLF-FS 2016:40 4 kap. 9 §): every entry where a unit they answer for sent or received, oldest first, a
/// page at a time. Subjects appear only as their keyed pseudonym, exactly as in the ledger.
/// </summary>
internal static class AuditEventApi
{
    public const int MaxPage = 500;

    public static IEndpointRouteBuilder MapAuditEventApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/ledger/audit-events", Page)
            .WithSummary("Ledger entries of a unit as FHIR R4 AuditEvents shaped after IHE BALP, a page at a time; for the log follow-up duty.");
        return app;
    }

    private static async Task<Results<FhirResult, ValidationProblem, ProblemHttpResult>> Page(
        string? unit, string? from, string? to, string? after, string? count,
        ClaimsPrincipal caller, NpgsqlDataSource db, OrganisationRegistry organisation, CancellationToken cancellationToken)
    {
        if (!caller.HasDuty(Duties.LogFollowUp))
        {
            return AccountabilityApi.NoDuty();
        }

        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        if (string.IsNullOrEmpty(unit) || organisation.FindUnit(unit) is null)
        {
            errors["unit"] = ["must name a unit of the organisation"];
        }

        var fromAt = Instant(from, "from", DateTimeOffset.MinValue, errors);
        var toAt = Instant(to, "to", DateTimeOffset.MaxValue, errors);
        if (fromAt >= toAt)
        {
            errors["to"] = ["must be later than from"];
        }

        var afterSeq = Number(after, "after", 0, 0, long.MaxValue, errors);
        var pageSize = (int)Number(count, "count", 100, 1, MaxPage, errors);
        if (errors.Count > 0)
        {
            // The values are the caller's text and are not repeated: they could be anything, an identity number included.
            return TypedResults.ValidationProblem(errors, title: "The query is not valid");
        }

        if (!caller.ActsFor(unit!))
        {
            return AccountabilityApi.NotYourUnit(unit!);
        }

        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        var rows = (await connection.QueryAsync<LedgerRow>(new CommandDefinition(
            $"""
            SELECT {DecisionLedger.Columns} FROM ledger
            WHERE {DecisionLedger.OfUnit} AND at >= @fromAt AND at < @toAt AND seq > @afterSeq
            ORDER BY seq LIMIT @limit
            """,
            new { unit, fromAt, toAt, afterSeq, limit = pageSize + 1 }, cancellationToken: cancellationToken))).ToList();

        var entries = rows.Take(pageSize).Select(row => row.RequireEntry()).ToList();
        var query = new Query(unit!, from, to, pageSize);
        var next = rows.Count > pageSize ? query.Link(entries[^1].Seq) : null;
        return new FhirResult(FhirAuditEvents.Page(entries, organisation, query.Link(afterSeq), next));
    }

    private static DateTimeOffset Instant(string? text, string field, DateTimeOffset absent, Dictionary<string, string[]> errors)
    {
        if (string.IsNullOrEmpty(text))
        {
            return absent;
        }

        if (text.Length <= 40 && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at))
        {
            return at;
        }

        errors[field] = ["must be a date and time (ISO 8601)"];
        return absent;
    }

    private static long Number(string? text, string field, long absent, long min, long max, Dictionary<string, string[]> errors)
    {
        if (string.IsNullOrEmpty(text))
        {
            return absent;
        }

        if (long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value >= min && value <= max)
        {
            return value;
        }

        errors[field] = [$"must be a whole number from {min} to {max}"];
        return absent;
    }

    /// <summary>
    /// A page's link as the caller reaches it through the gateway, built from the checked values only: whatever else the
    /// caller put into the query is not repeated.
    /// </summary>
    private sealed record Query(string Unit, string? From, string? To, int Count)
    {
        public Uri Link(long after)
        {
            var parameters = new Dictionary<string, string?>(StringComparer.Ordinal) { ["unit"] = Unit };
            if (!string.IsNullOrEmpty(From))
            {
                parameters["from"] = From;
            }

            if (!string.IsNullOrEmpty(To))
            {
                parameters["to"] = To;
            }

            parameters["count"] = Count.ToString(CultureInfo.InvariantCulture);
            parameters["after"] = after.ToString(CultureInfo.InvariantCulture);
            return new Uri(QueryHelpers.AddQueryString($"/{Catalogue.Consent.Name}/ledger/audit-events", parameters), UriKind.Relative);
        }
    }
}
