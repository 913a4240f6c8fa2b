namespace FamiljecentralHub.LocalHub.Tests;

/// <summary>Why private nodes cannot start, said plainly enough that a skipped test tells a developer what to do.</summary>
public sealed class PrivateNodesTests
{
    private static readonly string[] Installed = ["/usr/lib/rabbitmq/bin/rabbitmq-server", "/usr/lib/postgresql/15/bin/postgres"];

    [Fact]
    public void RootWithThePackages_CanStartThem() =>
        PrivateNodes.Check(root: true, Installed.Contains, linux: true).ShouldBeNull();

    [Fact]
    public void NotRoot_NamesRootAndTheContainerPath() =>
        PrivateNodes.Check(root: false, Installed.Contains, linux: true).ShouldNotBeNull().ShouldSatisfyAllConditions(
            reason => reason.ShouldContain("root"),
            reason => reason.ShouldContain("HUB_TEST_NODES=containers"));

    [Theory]
    [InlineData("/usr/lib/rabbitmq/bin/rabbitmq-server")]
    [InlineData("/usr/lib/postgresql/15/bin/postgres")]
    public void AServerMissing_NamesThePrerequisitesScript(string missing) =>
        PrivateNodes.Check(root: true, path => path != missing && Installed.Contains(path), linux: true)
            .ShouldNotBeNull().ShouldContain("deploy/prerequisites.sh");
}
