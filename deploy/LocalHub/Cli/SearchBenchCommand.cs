using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using Dapper;
using FamiljecentralHub.LocalHub.Clients;
using FamiljecentralHub.LocalHub.Pki;
using Npgsql;

namespace FamiljecentralHub.LocalHub.Cli;

/// <summary>
/// 'bench-search': the console's search (issue 13: p95 under 50 ms on a store of one million messages). A fresh hub,
/// its Ops store filled with generated messages (metadata as the flow consumer writes it, spread over a year, six
/// units, a hundred thousand subjects), then each kind of search asked through the gateway, one after another, as an
/// operator's browser would, with the time to the last byte of the rendered page.
/// </summary>
internal static class SearchBenchCommand
{
    public static Command Create()
    {
        var messages = new Option<int>("--messages") { Description = "Messages in the store.", DefaultValueFactory = _ => 1_000_000 };
        var requests = new Option<int>("--requests") { Description = "Requests per kind of search.", DefaultValueFactory = _ => 200 };
        var output = new Option<string?>("--output") { Description = "Also write the figures to this file." };
        var command = new Command("bench-search", "Fill the Ops store with generated messages and time the console's search through the gateway.")
        {
            messages, requests, output,
        };
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            await using var hub = await Hub.StartAsync(new HubOptions { UseFreePorts = true, Nodes = HubNodes.Private, Log = Console.WriteLine }, cancellationToken);
            var pki = DemoPki.Ensure(hub.PkiDir, hub.ClientIds);
            var count = parseResult.GetValue(messages);
            var fill = Stopwatch.StartNew();
            await using (var admin = new NpgsqlConnection(hub.AdminConnectionString("ops")))
            {
                await admin.OpenAsync(cancellationToken);
                await admin.ExecuteAsync(new CommandDefinition(Fill, new { count }, commandTimeout: 1800, cancellationToken: cancellationToken));
                await admin.ExecuteAsync(new CommandDefinition("ANALYZE messages; ANALYZE message_events", commandTimeout: 600, cancellationToken: cancellationToken));
            }

            Console.WriteLine($"Filled {count:N0} messages in {fill.Elapsed.TotalSeconds:0} s.");
            var kinds = new (string Name, string Client, Func<int, string> Query)[]
            {
                ("newest page, whole hub", "ops-console", _ => ""),
                ("newest page, one principal", "ops-region-skane", _ => ""),
                ("by unit", "ops-console", i => $"unit={Units[i % Units.Length]}"),
                ("by subject", "ops-console", i => $"subject={Subject(i * 7919 % 100_000)}"),
                ("by status and purpose", "ops-console", i => $"status={Statuses[i % Statuses.Length]}&purpose=ReportOfConcern"),
                ("by receiving unit and a week", "ops-console", i => $"receivingUnit=malmo-mottagning&from={Day(i % 300):yyyy-MM-dd}&to={Day(i % 300 + 7):yyyy-MM-dd}"),
                ("by message id", "ops-console", i => $"messageId={MessageId(i * 4_999 % count)}"),
                ("third page by sending unit", "ops-console", i => $"sendingUnit={Units[i % Units.Length]}"),
            };

            var table = new StringBuilder();
            table.AppendLine(CultureInfo.InvariantCulture, $"Console search, {count:N0} messages, {parseResult.GetValue(requests)} requests per kind, one at a time, through the gateway (ms to the last byte):");
            table.AppendLine("| search | p50 | p95 | p99 | max |");
            table.AppendLine("|---|---:|---:|---:|---:|");
            var all = new List<double>();
            foreach (var (name, client, query) in kinds)
            {
                using var http = HubHttp.CreateClient(pki, client, hub.GatewayUrl);
                var times = new List<double>();
                for (var i = 0; i < parseResult.GetValue(requests) + 10; i++)
                {
                    var started = Stopwatch.GetTimestamp();
                    var path = "/ops/console/search?" + query(i);
                    if (name.StartsWith("third page", StringComparison.Ordinal))
                    {
                        path = await PageAsync(http, path, 3, cancellationToken);
                        started = Stopwatch.GetTimestamp();
                    }

                    using var response = await http.GetAsync(path, cancellationToken);
                    await response.Content.ReadAsByteArrayAsync(cancellationToken);
                    response.EnsureSuccessStatusCode();
                    if (i >= 10)
                    {
                        times.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds); // the first ten warm the caches and the JIT
                    }
                }

                all.AddRange(times);
                table.AppendLine(Row(name, times));
            }

            table.AppendLine(Row("all", all));
            Console.WriteLine();
            Console.WriteLine(table);
            if (parseResult.GetValue(output) is { } file)
            {
                await File.WriteAllTextAsync(file, table.ToString(), cancellationToken);
            }

            return 0;
        });
        return command;
    }

    private static readonly string[] Units = ["rosengard-mvc", "rosengard-bvc", "rosengard-oppna-forskolan", "rosengard-socialtjanst", "malmo-mottagning", "solglantan-bvc"];

    private static readonly string[] Statuses = ["Delivered", "Acknowledged", "Refused", "Withdrawn"];

    private static readonly DateTime Start = new(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc);

    private static DateTime Day(int day) => Start.AddDays(day);

    /// <summary>As the fill below writes them: the same md5 text, so a search finds what was generated.</summary>
    private static string Subject(int i) => "p-" + Convert.ToHexStringLower(System.Security.Cryptography.MD5.HashData(Encoding.ASCII.GetBytes($"s{i}")))[..24];

    private static Guid MessageId(int i) => new(Convert.ToHexStringLower(System.Security.Cryptography.MD5.HashData(Encoding.ASCII.GetBytes($"m{i}"))));

    /// <summary>Follows "Next page" links to page <paramref name="page"/>.</summary>
    private static async Task<string> PageAsync(HttpClient http, string path, int page, CancellationToken cancellationToken)
    {
        for (var p = 1; p < page; p++)
        {
            var html = await http.GetStringAsync(path, cancellationToken);
            var at = html.IndexOf("rel=\"next\" href=\"", StringComparison.Ordinal);
            if (at < 0)
            {
                break;
            }

            var start = at + "rel=\"next\" href=\"".Length;
            path = System.Net.WebUtility.HtmlDecode(html[start..html.IndexOf('"', start)]);
        }

        return path;
    }

    private static string Row(string name, List<double> times)
    {
        times.Sort();
        double At(double q) => times[Math.Min(times.Count - 1, (int)Math.Ceiling(q * times.Count) - 1)];
        return string.Create(CultureInfo.InvariantCulture, $"| {name} | {At(0.50):0.0} | {At(0.95):0.0} | {At(0.99):0.0} | {times[^1]:0.0} |");
    }

    /// <summary>One message per row as the flow consumer keeps it, and its delivery step; ids and pseudonyms from md5 of a counter.</summary>
    private const string Fill =
        """
        INSERT INTO messages (message_id, sending_unit, receiving_unit, sending_operation, receiving_operation, family_centre, purpose,
                              subject_pseudonym, basis, status, submitted_at, sent_at, last_at)
        SELECT md5('m' || i)::uuid, u.sending, u.receiving, u.sop, u.rop, 'fc-rosengard',
               (ARRAY['Referral','ReportOfConcern','JointPlan','BirthHandover'])[1 + i % 4],
               'p-' || left(md5('s' || (i % 100000)), 24), 'consent',
               (ARRAY['Delivered','Acknowledged','Acknowledged','Refused','Withdrawn'])[1 + i % 5],
               t, t, t + interval '2 seconds'
        FROM generate_series(0, @count - 1) AS i
        CROSS JOIN LATERAL (SELECT timestamptz '2026-01-01 00:00:00+00' + (i::double precision / @count) * interval '330 days' AS t) AS time
        CROSS JOIN LATERAL (SELECT (ARRAY['rosengard-bvc','rosengard-mvc','rosengard-oppna-forskolan','solglantan-bvc','rosengard-bvc','rosengard-socialtjanst'])[1 + i % 6] AS sending,
                                   (ARRAY['rosengard-socialtjanst','rosengard-bvc','malmo-mottagning','rosengard-oppna-forskolan','malmo-mottagning','rosengard-bvc'])[1 + i % 6] AS receiving,
                                   (ARRAY['ChildHealth','MaternityCare','OpenPreschool','ChildHealth','ChildHealth','PreventiveSocialServices'])[1 + i % 6] AS sop,
                                   (ARRAY['PreventiveSocialServices','ChildHealth','SocialServicesIntake','OpenPreschool','SocialServicesIntake','ChildHealth'])[1 + i % 6] AS rop) AS u;
        INSERT INTO message_events (message_id, status, sending_unit, receiving_unit, sending_operation, receiving_operation, family_centre, purpose,
                                    subject_pseudonym, basis, reasons, occurred_at, publisher, submitted_at)
        SELECT message_id, status, sending_unit, receiving_unit, sending_operation, receiving_operation, family_centre, purpose,
               subject_pseudonym, basis, '{}', last_at, 'social-services', submitted_at
        FROM messages WHERE sent_at < timestamptz '2026-12-01';
        """;
}
