namespace FamiljecentralHub.LocalHub;

/// <summary>Where a test run's hubs and scratch databases take RabbitMQ and PostgreSQL from.</summary>
public enum TestNodeSource
{
    /// <summary>The one node pair deploy/test.sh started for the run, named by the HUB_EXTERNAL_NODES variables.</summary>
    Shared,

    /// <summary>Containers of the hub's own images, started by Testcontainers for each hub (<see cref="ContainerNodes"/>).</summary>
    Containers,

    /// <summary>Private nodes from Debian's packages, started for each hub (as root: they run as rabbitmq and postgres).</summary>
    Private,
}

/// <summary>
/// The choice between the test paths (docs/testing.md). HUB_TEST_NODES=private or =containers says which; unset (or
/// "auto"), containers wherever a container engine answers and private nodes elsewhere. deploy/test.sh's private path
/// names its shared pair with HUB_EXTERNAL_NODES=1, which every hub then uses.
/// </summary>
public static class TestNodes
{
    public const string Variable = "HUB_TEST_NODES";

    /// <summary>The source this process's environment chooses; asks the engine only when the choice depends on it.</summary>
    public static TestNodeSource FromEnvironment() =>
        Choose(Environment.GetEnvironmentVariable, () => ContainerNodes.EngineAnswers);

    public static TestNodeSource Choose(Func<string, string?> read, Func<bool> engineAnswers)
    {
        ArgumentNullException.ThrowIfNull(read);
        ArgumentNullException.ThrowIfNull(engineAnswers);
        if (read(ExternalNodes.EnabledVariable) == "1")
        {
            return TestNodeSource.Shared;
        }
        switch (read(Variable)?.Trim().ToLowerInvariant())
        {
            case "private":
                return TestNodeSource.Private;
            case "containers":
                return engineAnswers()
                    ? TestNodeSource.Containers
                    : throw new LocalHubException(
                        $"{Variable}=containers, but no container engine answers: start Docker or podman's API socket and point DOCKER_HOST at it "
                        + $"(docs/testing.md), or take private nodes with {Variable}=private.");
            case null or "" or "auto":
                return engineAnswers() ? TestNodeSource.Containers : TestNodeSource.Private;
            default:
                throw new LocalHubException($"{Variable} is 'private', 'containers' or unset (auto), not '{read(Variable)}'.");
        }
    }
}
