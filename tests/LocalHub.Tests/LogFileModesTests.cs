using System.Runtime.Versioning;
using FamiljecentralHub.LocalHub.Processes;
using Npgsql;

namespace FamiljecentralHub.LocalHub.Tests;

/// <summary>
/// Logs may hold what a service or a server says about a message: readable only by the user that runs the process
/// (the hub's own for service logs, postgres and rabbitmq for theirs), never by any other local user.
/// </summary>
[Collection(PrivateNodesCollection.Name)]
[UnsupportedOSPlatform("windows")]
public sealed class LogFileModesTests(PrivateNodesFixture nodes)
{
    private const UnixFileMode FileOwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode DirectoryOwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Fact]
    public async Task PostgresLog_IsReadableOnlyByPostgres()
    {
        var log = nodes.Postgres.LogPath.ShouldNotBeNull();

        File.GetUnixFileMode(log).ShouldBe(FileOwnerOnly);
        (await OwnerAsync(log)).ShouldBe("postgres");
        foreach (var file in Directory.GetFiles(nodes.Postgres.Directory!, "*.log"))
        {
            File.GetUnixFileMode(file).ShouldBe(FileOwnerOnly, file);
            (await OwnerAsync(file)).ShouldBe("postgres", file);
        }

        File.GetUnixFileMode(Path.GetDirectoryName(log)!).ShouldBe(DirectoryOwnerOnly);
    }

    [Fact]
    public async Task RabbitMqLogs_AreReadableOnlyByRabbitMq()
    {
        var log = nodes.Rabbit.LogPath.ShouldNotBeNull();
        var directory = Path.GetDirectoryName(log)!;

        File.Exists(log).ShouldBeTrue();
        File.GetUnixFileMode(directory).ShouldBe(DirectoryOwnerOnly);
        (await OwnerAsync(directory)).ShouldBe("rabbitmq");
        foreach (var file in Directory.GetFiles(directory))
        {
            File.GetUnixFileMode(file).ShouldBe(FileOwnerOnly, file);
            (await OwnerAsync(file)).ShouldBe("rabbitmq", file);
        }
    }

    [Fact]
    public async Task ServiceLog_IsReadableOnlyByTheHubsUser()
    {
        var directory = TestDirectories.Create("service-log");
        try
        {
            var logs = Path.Combine(directory, "logs");
            var log = Path.Combine(logs, "some-service.log");
            // Any dll the dotnet host runs will do: LocalHub's own prints its usage and exits before it is ready.
            var service = new ServiceProcess(
                "some-service", typeof(Hub).Assembly.Location, new Uri("http://127.0.0.1:9/"), new Dictionary<string, string>(), log)
            { ReadyTimeout = TimeSpan.FromSeconds(20) };

            await Should.ThrowAsync<LocalHubException>(() => service.StartAsync(Cancellation));

            File.ReadAllText(log).ShouldNotBeEmpty();
            File.GetUnixFileMode(log).ShouldBe(FileOwnerOnly);
            File.GetUnixFileMode(logs).ShouldBe(DirectoryOwnerOnly);
            (await OwnerAsync(log)).ShouldBe(Environment.UserName);
        }
        finally
        {
            UnixFiles.DeleteDirectory(directory);
        }
    }

    /// <summary>The server copies neither statements nor parameters into its log when a statement fails.</summary>
    [Theory]
    [InlineData("log_min_error_statement", "panic")]
    [InlineData("log_parameter_max_length_on_error", "0")]
    [InlineData("log_parameter_max_length", "0")]
    [InlineData("log_error_verbosity", "terse")]
    public async Task PostgresNode_LogsNoStatementOrParameterOnError(string setting, string value)
    {
        await using var connection = await PostgresNodeTests.OpenAsync(nodes.Postgres, "postgres");
        await using var show = new NpgsqlCommand($"SHOW {setting}", connection);

        (await show.ExecuteScalarAsync(Cancellation)).ShouldBe(value);
    }

    private static async Task<string> OwnerAsync(string path) =>
        (await ProcessRunner.RunCheckedAsync("stat", ["-c", "%U", path], cancellationToken: Cancellation)).Trim();
}
