using FamiljecentralHub.LocalHub.Processes;

namespace FamiljecentralHub.LocalHub.Tests;

/// <summary>
/// One private RabbitMQ node and one private PostgreSQL cluster for the tests of the node classes themselves,
/// which stop, kill and freeze them; so never the shared nodes deploy/test.sh provides.
/// </summary>
public sealed class PrivateNodesFixture : IAsyncLifetime
{
    private readonly string? directory;
    private readonly RabbitMqNode? rabbit;
    private readonly PostgresNode? postgres;

    public PrivateNodesFixture()
    {
        if (PrivateNodes.Unavailable is not null)
        {
            return;
        }
        directory = TestDirectories.Create("nodes");
        rabbit = RabbitMqNode.Private(Path.Combine(directory, "rabbitmq"), FreePorts.Next(), FreePorts.Next(), FreePorts.Next());
        postgres = PostgresNode.Private(Path.Combine(directory, "postgres"), FreePorts.Next());
    }

    /// <summary>The nodes' directory; where private nodes cannot start, the test that asks is skipped, saying why.</summary>
    public string Directory => directory ?? SkipTest<string>();

    public RabbitMqNode Rabbit => rabbit ?? SkipTest<RabbitMqNode>();

    public PostgresNode Postgres => postgres ?? SkipTest<PostgresNode>();

    public async ValueTask InitializeAsync()
    {
        if (rabbit is null || postgres is null)
        {
            return;
        }
        await Task.WhenAll(rabbit.StartAsync(TestContext.Current.CancellationToken), postgres.StartAsync(TestContext.Current.CancellationToken));
    }

    public async ValueTask DisposeAsync()
    {
        if (rabbit is null || postgres is null || directory is null)
        {
            return;
        }
        // Killed, not stopped: the data is deleted next, and the graceful stop has its own test.
        await Task.WhenAll(rabbit.DiscardAsync(), postgres.KillAsync());
        UnixFiles.DeleteDirectory(directory);
    }

    /// <summary>Skips the calling test (a fixture cannot: xunit fails every test of a fixture that throws).</summary>
    internal static T SkipTest<T>()
    {
        Assert.Skip(PrivateNodes.Unavailable ?? "Private nodes are unavailable.");
        return default!;
    }
}

[CollectionDefinition(Name)]
public sealed class PrivateNodesCollection : ICollectionFixture<PrivateNodesFixture>
{
    public const string Name = "private nodes";
}

internal static class TestDirectories
{
    /// <summary>
    /// Under /tmp rather than the build output: the servers run as the rabbitmq and postgres users, which
    /// cannot enter a repository checked out under /root. One parent per user: a developer's run as themselves must
    /// not meet the parent an earlier run as root made (and closed to them).
    /// </summary>
    public static string Create(string purpose)
    {
        var directory = Path.Combine(
            Path.GetTempPath(), $"familjecentralhub-tests-{Environment.UserName}", $"{purpose}-{Guid.NewGuid():N}"[..24]);
        System.IO.Directory.CreateDirectory(directory);
        return directory;
    }
}
