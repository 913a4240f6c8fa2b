using FamiljecentralHub.ServiceDefaults.Messaging;

namespace FamiljecentralHub.ServiceDefaults.Tests;

/// <summary>
/// The watchdog's restart count outlives the restart: what one process recorded just before it stopped, the next
/// process of the instance reads at start, so Ops and Prometheus see the count go up from the restarted process.
/// </summary>
public sealed class WatchdogRestartsTests : IDisposable
{
    private readonly string directory = Directory.CreateTempSubdirectory("watchdog-restarts-").FullName;

    public void Dispose() => Directory.Delete(directory, recursive: true);

    [Fact]
    public void Record_ThenLoadAsTheNextProcess_KeepsTheCountAndTheTime()
    {
        var path = Path.Combine(directory, "instance-1.json");
        var at = new DateTimeOffset(2026, 11, 26, 19, 0, 0, TimeSpan.Zero);

        WatchdogRestarts.Load(path);
        WatchdogRestarts.Count.ShouldBe(0, "no file yet: no restart");
        WatchdogRestarts.Record(at);
        WatchdogRestarts.Record(at.AddMinutes(5));

        // Another instance's process has counted nothing; the next process of this one starts from the file.
        WatchdogRestarts.Load(Path.Combine(directory, "another-instance.json"));
        WatchdogRestarts.Count.ShouldBe(0);
        WatchdogRestarts.Load(path);
        WatchdogRestarts.Count.ShouldBe(2);
        WatchdogRestarts.Last.ShouldBe(at.AddMinutes(5));
    }

    [Fact]
    public void Load_ATornFile_CountsNothingAndTheNextRestartWritesItAfresh()
    {
        var path = Path.Combine(directory, "torn.json");
        File.WriteAllText(path, "{\"Restarts\": 4, \"LastRest");

        WatchdogRestarts.Load(path);
        WatchdogRestarts.Record(DateTimeOffset.UnixEpoch);
        WatchdogRestarts.Load(path);

        WatchdogRestarts.Count.ShouldBe(1, "the torn file counted nothing");
        File.ReadAllText(path).ShouldContain("\"Restarts\"");
    }
}
