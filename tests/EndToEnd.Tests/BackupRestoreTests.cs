using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using FamiljecentralHub.LocalHub.Clients;
using Npgsql;

namespace FamiljecentralHub.EndToEnd.Tests;

/// <summary>
/// Backup and restore as docs/deployment.md writes them down, tried on a hub of its own: the ledger and the inbox are
/// dumped by a login that may only read (pg_read_all_data), the databases are lost, restored from the dumps with their
/// owners and grants, and the hub goes on: the ledger verifies, the receiver fetches what was delivered before.
/// </summary>
public sealed class BackupRestoreTests(PrivateHubFixture fixture) : IClassFixture<PrivateHubFixture>
{
    private const string Consent = "consent";
    private const string Receiver = "social-services";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Restore_AfterTheDatabasesAreLost_BringsBackTheLedgerAndTheInbox()
    {
        var hub = fixture.Hub;
        using var bvc = fixture.Client(DemoRequests.ChildHealthClient);
        using var social = fixture.Client(DemoRequests.SocialServicesClient);
        var subject = HubFixture.NewSubject();
        (await bvc.PostAsJsonAsync(DemoRequests.ConsentPath, DemoRequests.Consent(subject, DateTimeOffset.UtcNow), Ct)).StatusCode.ShouldBe(HttpStatusCode.Created);
        var sent = await bvc.PostAsJsonAsync(DemoRequests.ReferralPath, DemoRequests.Referral(subject), Ct);
        var messageId = (await sent.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("messageId").GetGuid();
        await HubFixture.WaitForStatusAsync(bvc, $"/child-health/units/{DemoRequests.ChildHealthUnit}/sent/{messageId}", "Delivered");
        var entriesBefore = await LedgerEntriesAsync(hub.AdminConnectionString(Consent));

        // The backup login reads everything and may change nothing.
        var backupPassword = Convert.ToHexString(Guid.NewGuid().ToByteArray());
        await AdminAsync(hub.Postgres.ConnectionString(), $"CREATE ROLE hub_backup LOGIN PASSWORD '{backupPassword}' IN ROLE pg_read_all_data");
        string[] databases = [hub.DatabaseName(Consent), hub.DatabaseName(Receiver)];
        foreach (var database in databases)
        {
            // The hub's databases admit only the logins granted CONNECT (docs/security.md, "Database roles").
            await AdminAsync(hub.Postgres.ConnectionString(), $"GRANT CONNECT ON DATABASE \"{database}\" TO hub_backup");
        }

        var directory = Directory.CreateTempSubdirectory("hub-backup-");
        var backup = await RunAsync("backup.sh", [directory.FullName, .. databases], "hub_backup", backupPassword);
        backup.ExitCode.ShouldBe(0, backup.Output);

        // The loss: both services stopped, both databases gone.
        await hub.Services[Consent].StopAsync(Ct);
        await hub.Services[Receiver].StopAsync(Ct);
        foreach (var database in databases)
        {
            await hub.Postgres.DropDatabaseAsync(database, Ct);
        }

        var restore = await RunAsync("restore.sh", [directory.FullName, .. databases], "postgres", hub.Postgres.Password);
        restore.ExitCode.ShouldBe(0, restore.Output);
        await hub.Services[Consent].StartAsync(Ct);
        await hub.Services[Receiver].StartAsync(Ct);

        (await LedgerEntriesAsync(hub.AdminConnectionString(Consent))).ShouldBeGreaterThanOrEqualTo(entriesBefore);
        var verified = await hub.Services[Consent].RunCommandAsync(["verify-ledger"], TimeSpan.FromMinutes(2), Ct);
        verified.ExitCode.ShouldBe(0, verified.Output);
        var fetched = await social.GetAsync($"{DemoRequests.InboxPath}/{messageId}", Ct);
        fetched.StatusCode.ShouldBe(HttpStatusCode.OK, "the run-time role reads its restored inbox with the grants the dump brought back");
        (await fetched.Content.ReadAsStringAsync(Ct)).ShouldContain(subject);

        // And the hub goes on deciding and delivering on the restored databases.
        var next = await bvc.PostAsJsonAsync(DemoRequests.ReferralPath, DemoRequests.Referral(subject), Ct);
        var nextId = (await next.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("messageId").GetGuid();
        await HubFixture.WaitForStatusAsync(bvc, $"/child-health/units/{DemoRequests.ChildHealthUnit}/sent/{nextId}", "Delivered", TimeSpan.FromSeconds(60));
        directory.Delete(recursive: true);
    }

    private static async Task<long> LedgerEntriesAsync(string connectionString)
    {
        // Unpooled: a pooled connection to the dropped database would be one the server has already closed.
        await using var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(connectionString) { Pooling = false }.ConnectionString);
        await connection.OpenAsync(Ct);
        await using var count = new NpgsqlCommand("SELECT count(*) FROM ledger", connection);
        return (long)(await count.ExecuteScalarAsync(Ct))!;
    }

    private static async Task AdminAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(connectionString) { Pooling = false }.ConnectionString);
        await connection.OpenAsync(Ct);
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(Ct);
    }

    private async Task<(int ExitCode, string Output)> RunAsync(string script, string[] arguments, string user, string password)
    {
        var info = new ProcessStartInfo("bash", [Path.Combine(fixture.Hub.RepositoryRoot, "deploy", script), .. arguments])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        info.Environment["PGHOST"] = fixture.Hub.Postgres.Host;
        info.Environment["PGPORT"] = fixture.Hub.Postgres.Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        info.Environment["PGUSER"] = user;
        info.Environment["PGPASSWORD"] = password;
        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync(Ct);
        var errors = process.StandardError.ReadToEndAsync(Ct);
        await process.WaitForExitAsync(Ct);
        return (process.ExitCode, await output + await errors);
    }
}
