using System.Globalization;
using System.Text;
using System.Security.Claims;
using Dapper;
using FamiljecentralHub.Ops.Features.Console;
using FamiljecentralHub.ServiceDefaults.Organisation;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Net.Http.Headers;
using Npgsql;

namespace FamiljecentralHub.Ops.Features.Statistics;

/// <summary>
/// Referral statistics for the family centres' follow-up of their collaboration, per centre, month and pair of
/// operations, as JSON, CSV (Accept: text/csv) or a chart a browser shows (Accept: text/html). A referral counts when it
/// reached the receiving operation (delivered), in the month it did, in Swedish time.
/// </summary>
internal static class StatisticsApi
{
    /// <summary>Ten years: the range of a follow-up, and a bound on the work one request can ask for.</summary>
    public const int MaxMonths = 120;

    private static readonly TimeZoneInfo Stockholm = TimeZoneInfo.FindSystemTimeZoneById("Europe/Stockholm");

    public static IEndpointRouteBuilder MapStatisticsApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/statistics/referrals", Referrals)
            .WithSummary("Referrals between a family centre's operations per month, and families referred once or more per year; JSON or CSV, small counts suppressed.")
            .Produces<ReferralStatistics>(contentType: "application/json")
            .Produces(StatusCodes.Status200OK, contentType: "text/csv")
            .Produces(StatusCodes.Status200OK, contentType: "text/html");
        return app;
    }

    private static async Task<Results<Ok<ReferralStatistics>, FileContentHttpResult, ContentHttpResult, ValidationProblem>> Referrals(
        string? from, string? to, HttpRequest request, ClaimsPrincipal caller, OrganisationRegistry registry, NpgsqlDataSource db, TimeProvider clock, CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        var (first, last) = Range(from, to, clock, errors);
        if (errors.Count > 0)
        {
            // The values are the caller's text and are not repeated.
            return TypedResults.ValidationProblem(errors, title: "The range is not valid");
        }

        var statistics = await QueryAsync(db, OperatorScope.Of(caller, registry), first, last, cancellationToken);
        if (Wants(request, "text/html"))
        {
            request.HttpContext.Response.Headers.ContentSecurityPolicy = ReferralChart.ContentSecurityPolicy;
            request.HttpContext.Response.Headers.XContentTypeOptions = "nosniff";
            return TypedResults.Content(ReferralChart.Render(statistics), "text/html; charset=utf-8");
        }

        return Wants(request, "text/csv")
            ? TypedResults.File(Encoding.UTF8.GetBytes(Csv(statistics)), "text/csv; charset=utf-8", $"referrals-{statistics.From}-{statistics.To}.csv")
            : TypedResults.Ok(statistics);
    }

    /// <summary>The months asked for, the last twelve by default; errors name the field and the rule, never the value.</summary>
    public static (DateOnly First, DateOnly Last) Range(string? from, string? to, TimeProvider clock, Dictionary<string, string[]> errors)
    {
        var today = TimeZoneInfo.ConvertTime(clock.GetUtcNow(), Stockholm);
        var last = Month(to, "to", new DateOnly(today.Year, today.Month, 1), errors);
        var first = Month(from, "from", last.AddMonths(-11), errors);
        if (errors.Count == 0 && first > last)
        {
            errors["to"] = ["must not be before from"];
        }
        else if (errors.Count == 0 && (last.Year - first.Year) * 12 + last.Month - first.Month >= MaxMonths)
        {
            errors["from"] = [$"the range may span at most {MaxMonths} months"];
        }

        return (first, last);
    }

    /// <summary>The statistics of the delivered referrals the operator's scope covers, suppressed.</summary>
    public static async Task<ReferralStatistics> QueryAsync(NpgsqlDataSource db, OperatorScope scope, DateOnly first, DateOnly last, CancellationToken cancellationToken)
    {
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        var rows = await connection.QueryAsync<ReferralStatistics.Referral>(new CommandDefinition(
            $"""
            SELECT family_centre AS FamilyCentre,
                   to_char(date_trunc('month', occurred_at AT TIME ZONE 'Europe/Stockholm'), 'YYYY-MM') AS Month,
                   sending_operation AS SendingOperation, receiving_operation AS ReceivingOperation, subject_pseudonym AS Subject
            FROM message_events
            WHERE status = 'Delivered' AND purpose = 'Referral' AND occurred_at >= @start AND occurred_at < @end AND {OperatorScope.Filter}
            """,
            new { start = Instant(first), end = Instant(last.AddMonths(1)), scope.All, scope.UnitList }, cancellationToken: cancellationToken));
        return ReferralStatistics.Of(first.ToString("yyyy-MM", CultureInfo.InvariantCulture), last.ToString("yyyy-MM", CultureInfo.InvariantCulture), [.. rows]);
    }

    private static bool Wants(HttpRequest request, string mediaType) =>
        MediaTypeHeaderValue.TryParseList(request.Headers.Accept, out var accepted)
        && accepted.Any(type => type.MediaType.Equals(mediaType, StringComparison.OrdinalIgnoreCase));

    private static DateOnly Month(string? text, string field, DateOnly absent, Dictionary<string, string[]> errors)
    {
        if (string.IsNullOrEmpty(text))
        {
            return absent;
        }

        if (DateOnly.TryParseExact(text, "yyyy-MM", CultureInfo.InvariantCulture, DateTimeStyles.None, out var month) && month.Year >= 2000)
        {
            return month;
        }

        errors[field] = ["must be a month, YYYY-MM, from 2000 on"];
        return absent;
    }

    /// <summary>The first instant of a month in Swedish time.</summary>
    public static DateTimeOffset Instant(DateOnly month)
    {
        var local = month.ToDateTime(TimeOnly.MinValue);
        // As UTC: Npgsql writes a timestamptz only from an offset of zero.
        return new DateTimeOffset(local, Stockholm.GetUtcOffset(local)).ToUniversalTime();
    }

    /// <summary>
    /// One long table a spreadsheet can pivot: a line per published figure, empty where it is suppressed. Every field is
    /// an organisation id, an operation, a period or a number, quoted when it needs to be.
    /// </summary>
    private static string Csv(ReferralStatistics s)
    {
        var csv = new StringBuilder("table,familyCentre,period,sendingOperation,receivingOperation,measure,value,suppressed\r\n");
        foreach (var r in s.Referrals)
        {
            Line(csv, "referrals", r.FamilyCentre, r.Month, r.SendingOperation, r.ReceivingOperation, "referrals", r.Referrals);
        }

        foreach (var m in s.MonthTotals)
        {
            Line(csv, "month-totals", m.FamilyCentre, m.Month, "", "", "referrals", m.Referrals);
        }

        foreach (var p in s.PairTotals)
        {
            Line(csv, "pair-totals", p.FamilyCentre, $"{s.From}/{s.To}", p.SendingOperation, p.ReceivingOperation, "referrals", p.Referrals);
        }

        foreach (var f in s.Families)
        {
            var year = f.Year.ToString(CultureInfo.InvariantCulture);
            Line(csv, "families", f.FamilyCentre, year, f.SendingOperation, f.ReceivingOperation, "referredOnce", f.ReferredOnce);
            Line(csv, "families", f.FamilyCentre, year, f.SendingOperation, f.ReceivingOperation, "referredMoreThanOnce", f.ReferredMoreThanOnce);
            Line(csv, "families", f.FamilyCentre, year, f.SendingOperation, f.ReceivingOperation, "families", f.Families);
        }

        return csv.ToString();
    }

    private static void Line(StringBuilder csv, string table, string? centre, string period, string sending, string receiving, string measure, long? value)
    {
        csv.AppendJoin(',', [table, Field(centre ?? ""), period, sending, receiving, measure,
            value?.ToString(CultureInfo.InvariantCulture) ?? "", value is null ? "true" : "false"]);
        csv.Append("\r\n");
    }

    /// <summary>RFC 4180 quoting, and no leading character a spreadsheet would read as a formula.</summary>
    private static string Field(string value)
    {
        if (value.Length > 0 && "=+-@\t\r".Contains(value[0], StringComparison.Ordinal))
        {
            value = "'" + value;
        }

        return value.AsSpan().IndexOfAny(",\"\r\n") >= 0 ? "\"" + value.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : value;
    }
}
