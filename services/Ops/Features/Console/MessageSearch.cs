using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Dapper;
using FamiljecentralHub.Contracts.Disclosures;
using FamiljecentralHub.ServiceDefaults.Organisation;
using Npgsql;

namespace FamiljecentralHub.Ops.Features.Console;

/// <summary>One message as search lists it. A class, not a record: Dapper fills properties.</summary>
public sealed class FoundMessage
{
    public Guid MessageId { get; init; }
    public string SendingUnit { get; init; } = "";
    public string ReceivingUnit { get; init; } = "";
    public string Purpose { get; init; } = "";
    public string? Basis { get; init; }
    public string Status { get; init; } = "";
    public string SubjectPseudonym { get; init; } = "";
    public DateTimeOffset SentAt { get; init; }
    public DateTimeOffset LastAt { get; init; }
}

/// <summary>
/// What an operator searches by, every field checked against what the hub can hold there (a known unit, a status, a
/// purpose, a basis code, a pseudonym, an id), so that nothing a caller typed reaches SQL text or a page unchecked. The
/// identity number and the Idempotency-Key are not here: the form's POST turns them into a pseudonym and a message id
/// (<see cref="SearchPage"/>), and neither is kept, logged or put in a link.
/// </summary>
internal sealed partial record MessageSearch(
    Guid? MessageId, string? Unit, string? SendingUnit, string? ReceivingUnit, string? Status, string? Purpose, string? Basis,
    DateTimeOffset? From, DateTimeOffset? To, string? Subject, (DateTimeOffset At, Guid Id)? After, int Limit)
{
    public const int DefaultLimit = 50;
    public const int MaxLimit = 200;

    public static MessageSearch? Parse(IQueryCollection query, OrganisationRegistry registry, Dictionary<string, string[]> errors)
    {
        string? Text(string name) => query[name].Count > 1 ? Fail(name, "give it once") : query[name].ToString() is { Length: > 0 } value ? value : null;

        string? Fail(string name, string why)
        {
            errors[name] = [why];
            return null;
        }

        string? KnownUnit(string name) => Text(name) is { } unit
            ? registry.FindUnit(unit) is null ? Fail(name, "is no unit the hub knows") : unit
            : null;

        Guid? messageId = null;
        if (Text("messageId") is { } id)
        {
            messageId = Guid.TryParse(id, out var parsed) ? parsed : null;
            _ = messageId is null ? Fail("messageId", "must be a message id (a UUID)") : null;
        }

        var status = Text("status") is { } s ? Enum.TryParse<DisclosureStatus>(s, out var st) && Enum.IsDefined(st) && !s.All(char.IsAsciiDigit) ? st.ToString() : Fail("status", "is no status") : null;
        var purpose = Text("purpose") is { } p ? Enum.TryParse<Purpose>(p, out var pu) && Enum.IsDefined(pu) && !p.All(char.IsAsciiDigit) ? pu.ToString() : Fail("purpose", "is no purpose") : null;
        var basis = Text("basis") is { } b ? BasisCode().IsMatch(b) ? b : Fail("basis", "is no basis code (lower-case letters, digits and dashes)") : null;
        var subject = Text("subject") is { } su ? Pseudonym().IsMatch(su) ? su : Fail("subject", "must be a pseudonym here; search by identity number with the form") : null;
        var from = Instant(Text("from"), "from", errors);
        var to = Instant(Text("to"), "to", errors);
        (DateTimeOffset, Guid)? after = null;
        if (Text("after") is { } a)
        {
            after = Cursor(a);
            _ = after is null ? Fail("after", "is not a cursor from an earlier page") : null;
        }

        var limit = DefaultLimit;
        if (Text("limit") is { } l && (!int.TryParse(l, NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit is < 1 or > MaxLimit))
        {
            Fail("limit", $"must be 1 to {MaxLimit}");
        }

        var search = new MessageSearch(messageId, KnownUnit("unit"), KnownUnit("sendingUnit"), KnownUnit("receivingUnit"), status, purpose, basis,
            from, to, subject, after, limit);
        return errors.Count == 0 ? search : null;
    }

    /// <summary>The query string of this search, for links; every value is of a checked shape.</summary>
    public string Query(bool withCursor = false)
    {
        var parts = new List<string>();
        void Add(string name, string? value)
        {
            if (value is not null)
            {
                parts.Add($"{name}={Uri.EscapeDataString(value)}");
            }
        }

        Add("messageId", MessageId?.ToString());
        Add("unit", Unit);
        Add("sendingUnit", SendingUnit);
        Add("receivingUnit", ReceivingUnit);
        Add("status", Status);
        Add("purpose", Purpose);
        Add("basis", Basis);
        Add("from", From?.ToString("O", CultureInfo.InvariantCulture));
        Add("to", To?.ToString("O", CultureInfo.InvariantCulture));
        Add("subject", Subject);
        if (withCursor && After is { } after)
        {
            Add("after", CursorOf(after.At, after.Id));
        }

        if (Limit != DefaultLimit)
        {
            Add("limit", Limit.ToString(CultureInfo.InvariantCulture));
        }

        return string.Join('&', parts);
    }

    /// <summary>
    /// One page, newest first, and the cursor of the next (null on the last). Only the conditions given are written into
    /// the statement, so each search is an index range on <c>messages</c> (migration 0005) filtered by the rest.
    /// </summary>
    public async Task<(IReadOnlyList<FoundMessage> Items, string? Next)> RunAsync(NpgsqlDataSource db, OperatorScope scope, CancellationToken cancellationToken)
    {
        var sql = new StringBuilder(
            """
            SELECT message_id AS MessageId, sending_unit AS SendingUnit, receiving_unit AS ReceivingUnit, purpose AS Purpose,
                   basis AS Basis, status AS Status, subject_pseudonym AS SubjectPseudonym, sent_at AS SentAt, last_at AS LastAt
            FROM messages WHERE
            """);
        sql.Append(OperatorScope.Filter);
        var parameters = new DynamicParameters(new { scope.All, scope.UnitList, Take = Limit + 1 });
        void Where(string condition, string name, object? value)
        {
            if (value is not null)
            {
                sql.Append(" AND ").Append(condition);
                parameters.Add(name, value);
            }
        }

        Where("message_id = @MessageId", "MessageId", MessageId);
        Where("(sending_unit = @Unit OR receiving_unit = @Unit)", "Unit", Unit);
        Where("sending_unit = @SendingUnit", "SendingUnit", SendingUnit);
        Where("receiving_unit = @ReceivingUnit", "ReceivingUnit", ReceivingUnit);
        Where("status = @Status", "Status", Status);
        Where("purpose = @Purpose", "Purpose", Purpose);
        Where("basis = @Basis", "Basis", Basis);
        Where("sent_at >= @From", "From", From?.ToUniversalTime());
        Where("sent_at < @To", "To", To?.ToUniversalTime());
        Where("subject_pseudonym = @Subject", "Subject", Subject);
        if (After is { } after)
        {
            sql.Append(" AND (sent_at, message_id) < (@AfterAt, @AfterId)");
            parameters.Add("AfterAt", after.At.ToUniversalTime());
            parameters.Add("AfterId", after.Id);
        }

        sql.Append(" ORDER BY sent_at DESC, message_id DESC LIMIT @Take");
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        var rows = (await connection.QueryAsync<FoundMessage>(new CommandDefinition(sql.ToString(), parameters, cancellationToken: cancellationToken))).ToList();
        if (rows.Count <= Limit)
        {
            return (rows, null);
        }

        var last = rows[Limit - 1];
        return (rows[..Limit], CursorOf(last.SentAt, last.MessageId));
    }

    private static string CursorOf(DateTimeOffset at, Guid id) =>
        $"{at.ToUniversalTime().UtcTicks.ToString(CultureInfo.InvariantCulture)}_{id:N}";

    private static (DateTimeOffset, Guid)? Cursor(string text)
    {
        var parts = text.Split('_');
        return parts.Length == 2 && long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var ticks)
            && ticks >= DateTimeOffset.UnixEpoch.UtcTicks && ticks <= DateTimeOffset.MaxValue.UtcTicks && Guid.TryParseExact(parts[1], "N", out var id)
            ? (new DateTimeOffset(ticks, TimeSpan.Zero), id)
            : null;
    }

    private static DateTimeOffset? Instant(string? text, string name, Dictionary<string, string[]> errors)
    {
        if (text is null)
        {
            return null;
        }

        if (text.Length <= 40 && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at) && at.Year is >= 2000 and <= 9998)
        {
            return at.ToUniversalTime();
        }

        errors[name] = ["must be a date or a time, ISO 8601 (2026-11-26 or 2026-11-26T08:00:00Z)"];
        return null;
    }

    [GeneratedRegex("^[a-z0-9][a-z0-9-]{0,63}$")]
    private static partial Regex BasisCode();

    [GeneratedRegex("^p-[0-9a-f]{24}$")]
    public static partial Regex Pseudonym();
}
