using System.Security.Claims;
using System.Text;
using FamiljecentralHub.Contracts.Disclosures;
using FamiljecentralHub.ServiceDefaults.Disclosures;
using FamiljecentralHub.ServiceDefaults.Identity;
using FamiljecentralHub.ServiceDefaults.Organisation;
using FamiljecentralHub.ServiceDefaults.Pseudonyms;
using FamiljecentralHub.ServiceDefaults.Security;
using Npgsql;
using static FamiljecentralHub.Ops.Features.Console.ConsolePage;

namespace FamiljecentralHub.Ops.Features.Console;

/// <summary>
/// Search: by message id, Idempotency-Key, unit, status, purpose, basis, time and subject, a page at a time. The form is
/// posted, so an identity number or a key never stands in a URL (and so in no access log or browser history); the POST
/// turns them into the pseudonym and the message id and answers with a redirect to the search that holds only those.
/// </summary>
internal static class SearchPage
{
    /// <summary>As the sending services check it: 1 to 255 printable ASCII characters.</summary>
    private const int MaxKeyLength = 255;

    public static async Task<IResult> Show(HttpRequest request, ClaimsPrincipal caller, OrganisationRegistry registry, NpgsqlDataSource db, CancellationToken cancellationToken)
    {
        var scope = OperatorScope.Of(caller, registry);
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        if (MessageSearch.Parse(request.Query, registry, errors) is not { } search)
        {
            // The values are the caller's text and are not repeated; the field names and the rules are ours.
            return TypedResults.ValidationProblem(errors, title: "The search is not valid");
        }

        var (items, next) = await search.RunAsync(db, scope, cancellationToken);
        var html = new StringBuilder(Form(search, scope, registry, caller.HasDuty(Duties.SubjectSearch)));
        html.Append("<h2>Messages</h2>");
        html.Append(Table(
            ["Sent", "Message", "From unit", "To unit", "Purpose", "Basis", "Status", "Subject (pseudonym)", "Last step"],
            items.Select(m => (IEnumerable<string>)
            [
                Time(m.SentAt), $"<a href=\"{Base}/messages/{m.MessageId}\">{m.MessageId}</a>", E(m.SendingUnit), E(m.ReceivingUnit),
                E(m.Purpose), E(m.Basis ?? "–"), E(m.Status), $"<a href=\"{Base}/search?subject={E(m.SubjectPseudonym)}\">{E(m.SubjectPseudonym)}</a>",
                Time(m.LastAt),
            ]),
            "No message matches."));
        if (next is not null)
        {
            var query = search.Query();
            html.Append($"<p><a rel=\"next\" href=\"{Base}/search?{E(query)}{(query.Length > 0 ? "&amp;" : "")}after={E(next)}\">Next page</a></p>");
        }

        return Html("Search", "/search", scope, html.ToString());
    }

    /// <summary>The form's POST: the identity number and the key become a pseudonym and an id, then a redirect.</summary>
    public static async Task<IResult> Post(HttpRequest request, ClaimsPrincipal caller, OrganisationRegistry registry, Pseudonymizer pseudonyms, CancellationToken cancellationToken)
    {
        if (!request.HasFormContentType)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status415UnsupportedMediaType, title: "Post the search form");
        }

        var form = await request.ReadFormAsync(cancellationToken);
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        var query = new List<KeyValuePair<string, string>>();
        foreach (var name in new[] { "unit", "sendingUnit", "receivingUnit", "status", "purpose", "basis", "from", "to", "messageId", "limit" })
        {
            if (form[name].Count > 1)
            {
                errors[name] = ["give it once"];
            }
            else if (form[name].ToString() is { Length: > 0 } value)
            {
                query.Add(new(name, value));
            }
        }

        if (form["subject"].ToString().Trim() is { Length: > 0 } subject)
        {
            if (MessageSearch.Pseudonym().IsMatch(subject))
            {
                query.Add(new("subject", subject));
            }
            else if (PersonalIdentityNumber.TryParse(subject, out var number, out _))
            {
                if (!caller.HasDuty(Duties.SubjectSearch))
                {
                    return TypedResults.Problem(statusCode: StatusCodes.Status403Forbidden, title: "Searching by identity number needs the subject-search duty",
                        detail: "Search by the subject's pseudonym instead, or ask an operator who holds the duty.");
                }

                query.Add(new("subject", pseudonyms.For(number.Value.Value)));
            }
            else
            {
                errors["subject"] = ["must be an identity number (YYYYMMDD-NNNN) or a pseudonym (p- and 24 hex digits)"];
            }
        }

        if (form["idempotencyKey"].ToString() is { Length: > 0 } key)
        {
            var sendingUnit = form["sendingUnit"].ToString();
            if (key.Length > MaxKeyLength || key.Any(c => c is < ' ' or > '~'))
            {
                errors["idempotencyKey"] = [$"must be 1 to {MaxKeyLength} printable ASCII characters"];
            }
            else if (registry.FindUnit(sendingUnit) is null)
            {
                errors["sendingUnit"] = ["a key belongs to one sending unit: choose it"];
            }
            else if (form["messageId"].ToString().Length > 0)
            {
                errors["idempotencyKey"] = ["give a message id or a key, not both"];
            }
            else
            {
                query.Add(new("messageId", IdempotentMessageId.For(sendingUnit, key).ToString()));
            }
        }

        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors, title: "The search is not valid");
        }

        var target = $"{Base}/search" + (query.Count == 0 ? "" : "?" + string.Join('&', query.Select(p => $"{p.Key}={Uri.EscapeDataString(p.Value)}")));
        // 303: the browser fetches the search with GET, and a reload does not post the form again.
        return new SeeOther(target);
    }

    private static string Form(MessageSearch s, OperatorScope scope, OrganisationRegistry registry, bool mayUseIdentityNumber)
    {
        var units = registry.Document.Units.Select(u => u.Id).Where(u => scope.All || scope.Units!.Contains(u)).Order(StringComparer.Ordinal).ToList();
        var allUnits = registry.Document.Units.Select(u => u.Id).Order(StringComparer.Ordinal).ToList();
        var html = new StringBuilder($"<form class=\"search\" method=\"post\" action=\"{Base}/search\">");
        html.Append(Input("messageId", "Message id", s.MessageId?.ToString()))
            .Append(Input("idempotencyKey", "Idempotency-Key (with its sending unit)", null))
            .Append(Select("unit", "Sending or receiving unit", units, s.Unit))
            .Append(Select("sendingUnit", "Sending unit", allUnits, s.SendingUnit))
            .Append(Select("receivingUnit", "Receiving unit", allUnits, s.ReceivingUnit))
            .Append(Select("status", "Status", Enum.GetNames<DisclosureStatus>(), s.Status))
            .Append(Select("purpose", "Purpose", Enum.GetNames<Purpose>(), s.Purpose))
            .Append(Input("basis", "Basis", s.Basis))
            .Append(Input("from", "Sent from (UTC)", s.From?.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture)))
            .Append(Input("to", "Sent before (UTC)", s.To?.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture)))
            // The number typed is never shown again: the page shows the pseudonym it became.
            .Append(Input("subject", mayUseIdentityNumber ? "Subject: identity number or pseudonym" : "Subject: pseudonym", s.Subject, "off"))
            .Append("<div><button type=\"submit\">Search</button></div></form>");
        return html.ToString();
    }

    private static string Input(string name, string label, string? value, string autocomplete = "on") =>
        $"<label>{E(label)}<input name=\"{name}\" value=\"{E(value)}\" autocomplete=\"{autocomplete}\"></label>";

    private static string Select(string name, string label, IEnumerable<string> options, string? selected)
    {
        var html = new StringBuilder($"<label>{E(label)}<select name=\"{name}\"><option value=\"\">any</option>");
        foreach (var option in options)
        {
            html.Append($"<option{(option == selected ? " selected" : "")}>{E(option)}</option>");
        }

        return html.Append("</select></label>").ToString();
    }

    /// <summary>303 See Other: after a POST, the browser GETs the target.</summary>
    private sealed class SeeOther(string location) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.StatusCode = StatusCodes.Status303SeeOther;
            httpContext.Response.Headers.Location = location;
            return Task.CompletedTask;
        }
    }
}
