using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Unicode;

namespace FamiljecentralHub.Consent.Features.Accountability;

/// <summary>
/// The printable extract in Formats, for the family. Every value is HTML-encoded (unit names come from configuration, not
/// from callers, but an encoder costs nothing and a registry edit must not become markup); the page holds no script and is
/// served with a policy that allows none. Withheld entries are not shown, not even counted: that an entry is withheld
/// could itself reveal a report. Instead every extract carries the same notice of what the law keeps out, whether or not
/// anything was kept out.
/// </summary>
internal static class ExtractDocument
{
    public const string ContentSecurityPolicy = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    private static readonly HtmlEncoder Encoder = HtmlEncoder.Create(UnicodeRanges.All);
    private static readonly CultureInfo Formats = CultureInfo.InvariantCulture; // the formats below are explicit; no culture data needed

    private static readonly Dictionary<string, string> Purposes = new(StringComparer.Ordinal)
    {
        ["Referral"] = "Hänvisning (slussning) mellan verksamheter",
        ["BirthHandover"] = "Överrapportering från mödrahälsovård till barnhälsovård",
        ["JointPlan"] = "Gemensam plan för barnet och familjen",
        ["JointActivityPlanning"] = "Planering av gemensamt hembesök eller föräldragrupp",
        ["ReportOfConcern"] = "Orosanmälan",
        ["CareHandover"] = "Överlämning mellan myndighet och öppenvård",
    };

    private static readonly Dictionary<string, string> Categories = new(StringComparer.Ordinal)
    {
        ["IdentityAndContact"] = "identitet och kontaktuppgifter",
        ["FamilySituation"] = "familjens och den sociala situationen",
        ["ChildHealth"] = "barnets hälsa och utveckling",
        ["ParentHealth"] = "förälderns hälsa",
        ["ParentingSupport"] = "stöd i föräldraskapet",
        ["Pregnancy"] = "graviditet",
        ["ChildsOwnStory"] = "barnets egen berättelse",
        ["Attendance"] = "närvaro vid aktiviteter",
    };

    private static readonly Dictionary<string, string> Bases = new(StringComparer.Ordinal)
    {
        ["same-secrecy-area"] = "inom samma sekretessområde",
        ["consent"] = "samtycke",
        ["report-of-concern"] = "anmälningsplikt",
        ["protect-child-from-health-care"] = "skydd för barnet (OSL 25 kap. 12 §)",
        ["protect-child-from-social-services"] = "skydd för barnet (OSL 26 kap. 9 §)",
        ["harm-assessment"] = "menprövning",
        ["not-unauthorised-disclosure"] = "inte obehörigt röjande (PSL 6 kap. 12 §)",
    };

    public static string Render(LogExtract extract, string subjectId, TimeZoneInfo zone)
    {
        var html = new StringBuilder(4096);
        html.Append("<!DOCTYPE html>\n<html lang=\"sv\">\n<head>\n<meta charset=\"utf-8\">\n<title>Loggutdrag</title>\n")
            .Append("<style>body{font-family:serif;margin:2em}table{border-collapse:collapse;width:100%}th,td{border:1px solid #444;padding:.3em;text-align:left;vertical-align:top}@media print{body{margin:0}}</style>\n")
            .Append("</head>\n<body>\n<h1>Loggutdrag: utlämnade uppgifter</h1>\n");
        html.Append("<p>Utdraget gäller personnummer ").Append(E(subjectId)).Append(". Det visar när uppgifter om personen har lämnats ut mellan verksamheterna ")
            .Append("genom familjecentralens integrationsnav, från vilken enhet till vilken, varför och med vilket stöd, och om mottagaren har tagit emot uppgifterna.</p>\n");
        html.Append("<p>Begärt av: ").Append(extract.Requester == ExtractRequester.Guardian ? "vårdnadshavare" : "personen själv")
            .Append(". Upprättat: ").Append(E(Local(extract.CreatedAt, zone))).Append(". Begäran: ").Append(E(extract.RequestId.ToString("D"))).Append(".</p>\n");

        if (extract.Entries.Count == 0)
        {
            html.Append("<p>Det finns inga utlämnanden att visa.</p>\n");
        }
        else
        {
            html.Append("<table>\n<thead><tr><th>Tidpunkt</th><th>Från</th><th>Till</th><th>Ändamål</th><th>Uppgifter</th><th>Stöd för utlämnandet</th><th>System</th><th>Mottaget</th></tr></thead>\n<tbody>\n");
            foreach (var e in extract.Entries)
            {
                html.Append("<tr><td>").Append(E(Local(e.At, zone)))
                    .Append("</td><td>").Append(E(e.From.Name)).Append("<br>").Append(E(e.From.Principal))
                    .Append("</td><td>").Append(E(e.To.Name)).Append("<br>").Append(E(e.To.Principal))
                    .Append("</td><td>").Append(E(Purposes.GetValueOrDefault(e.Purpose, e.Purpose)))
                    .Append("</td><td>").Append(E(string.Join(", ", e.Categories.Select(c => Categories.GetValueOrDefault(c, c)))))
                    .Append("</td><td>").Append(E(Basis(e)))
                    .Append("</td><td>").Append(E(e.ActingSystem))
                    .Append("</td><td>").Append(E(Received(e, zone)))
                    .Append("</td></tr>\n");
            }

            html.Append("</tbody>\n</table>\n");
        }

        html.Append("<h2>Uppgifter som inte visas</h2>\n<p>Ett utdrag visar inte uppgifter som skulle röja vem som har gjort en anmälan om oro för ett barn, ")
            .Append("eller som kan antas skada barnet eller en närstående. Sådana uppgifter prövas särskilt. Stöd:</p>\n<ul>\n");
        foreach (var rule in extract.Rules)
        {
            html.Append("<li>").Append(E(rule)).Append("</li>\n");
        }

        html.Append("</ul>\n<p>Den som handlägger begäran kan svara på frågor om utdraget.</p>\n</body>\n</html>\n");
        return html.ToString();
    }

    private static string Basis(ExtractEntry e)
    {
        var text = Bases.GetValueOrDefault(e.Basis, e.Basis);
        return e.ConsentId is { } id
            ? string.Create(Formats, $"{text} (samtycke {id:D}{(e.ConsentVersion is { } v ? $", version {v}" : "")})")
            : text;
    }

    private static string Received(ExtractEntry e, TimeZoneInfo zone) =>
        e.WithdrawnAt is { } withdrawn ? $"återkallat {Local(withdrawn, zone)}"
        : e.AcknowledgedAt is { } acknowledged ? $"hämtat och kvitterat {Local(acknowledged, zone)}"
        : e.DeliveredAt is { } delivered ? $"levererat {Local(delivered, zone)}, inte kvitterat"
        : "inte levererat";

    private static string Local(DateTimeOffset at, TimeZoneInfo zone) =>
        TimeZoneInfo.ConvertTime(at, zone).ToString("yyyy-MM-dd HH:mm", Formats);

    private static string E(string value) => Encoder.Encode(value);
}
