namespace FamiljecentralHub.LocalHub.Tests;

/// <summary>Which nodes a test run takes (docs/testing.md): the variable decides, then whether an engine answers.</summary>
public sealed class TestNodesTests
{
    private static Func<bool> Engine(bool answers, List<string>? asked = null) => () =>
    {
        asked?.Add("engine");
        return answers;
    };

    [Theory]
    [InlineData(null, true, TestNodeSource.Containers)]
    [InlineData(null, false, TestNodeSource.Private)]
    [InlineData("", true, TestNodeSource.Containers)]
    [InlineData("auto", false, TestNodeSource.Private)]
    [InlineData("containers", true, TestNodeSource.Containers)]
    [InlineData("private", true, TestNodeSource.Private)]
    [InlineData("PRIVATE", true, TestNodeSource.Private)]
    public void Variable_ThenEngine_Choose(string? value, bool engine, TestNodeSource expected) =>
        TestNodes.Choose(name => name == TestNodes.Variable ? value : null, Engine(engine)).ShouldBe(expected);

    [Fact]
    public void SharedNodesOfTheRun_WinOverEverything_WithoutAskingTheEngine()
    {
        var asked = new List<string>();
        TestNodes.Choose(
            name => name switch { ExternalNodes.EnabledVariable => "1", TestNodes.Variable => "containers", _ => null },
            Engine(true, asked)).ShouldBe(TestNodeSource.Shared);
        asked.ShouldBeEmpty();
    }

    [Fact]
    public void Private_IsTaken_WithoutAskingTheEngine()
    {
        var asked = new List<string>();
        TestNodes.Choose(name => name == TestNodes.Variable ? "private" : null, Engine(true, asked)).ShouldBe(TestNodeSource.Private);
        asked.ShouldBeEmpty();
    }

    [Fact]
    public void Containers_WithoutAnEngine_IsRefused_NamingTheWayOut()
    {
        var failure = Should.Throw<LocalHubException>(() => TestNodes.Choose(name => name == TestNodes.Variable ? "containers" : null, Engine(false)));
        failure.Message.ShouldContain("DOCKER_HOST");
        failure.Message.ShouldContain("HUB_TEST_NODES=private");
    }

    [Fact]
    public void AnUnknownValue_IsRefused_NamingTheKnownOnes()
    {
        var failure = Should.Throw<LocalHubException>(() => TestNodes.Choose(name => name == TestNodes.Variable ? "docker" : null, Engine(true)));
        failure.Message.ShouldContain("private");
        failure.Message.ShouldContain("containers");
    }
}
