using FamiljecentralHub.LocalHub.Processes;

namespace FamiljecentralHub.LocalHub.Tests;

/// <summary>
/// One private RabbitMQ node and one private PostgreSQL cluster for the tests of the node classes themselves,
/// which stop, kill and freeze them; so never the shared nodes deploy/test.sh provides.
/// </summary>
public sealed class PrivateNodesFixture : IAsyncLifetime
{
    public PrivateNodesFixture()
    {
        Directory = TestDirectories.Create("nodes");
        Rabbit = RabbitMqNode.Private(Path.Combine(Directory, "rabbitmq"), FreePorts.Next(), FreePorts.Next(), FreePorts.Next());
        Postgres = PostgresNode.Private(Path.Combine(Directory, "postgres"), FreePorts.Next());
    }

    public string Directory { get; }

    public RabbitMqNode Rabbit { get; }

    public PostgresNode Postgres { get; }

    public async ValueTask InitializeAsync() =>
        await Task.WhenAll(Rabbit.StartAsync(TestContext.Current.CancellationToken), Postgres.StartAsync(TestContext.Current.CancellationToken));

    public async ValueTask DisposeAsync()
    {
        // Killed, not stopped: the data is deleted next, and the graceful stop has its own test.
        await Task.WhenAll(Rabbit.DiscardAsync(), Postgres.KillAsync());
        UnixFiles.DeleteDirectory(Directory);
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
    /// cannot enter a repository checked out under /root.
    /// </summary>
    public static string Create(string purpose)
    {
        var directory = Path.Combine(Path.GetTempPath(), "familjecentralhub-tests", $"{purpose}-{Guid.NewGuid():N}"[..24]);
        System.IO.Directory.CreateDirectory(directory);
        return directory;
    }
}
