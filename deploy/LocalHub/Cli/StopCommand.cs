using System.CommandLine;

namespace FamiljecentralHub.LocalHub.Cli;

/// <summary>'stop': stops what 'run' or 'nodes' started in a state directory, as recorded in its hub-state.json.</summary>
internal static class StopCommand
{
    public static Command Create()
    {
        var stateDir = CommonOptions.StateDir("<repo>/.hub");
        var command = new Command("stop", "Stop the hub (or nodes) started in a state directory by 'run' or 'nodes'.") { stateDir };
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            var directory = CommonOptions.Resolve(parseResult.GetValue(stateDir), ".hub");
            try
            {
                var stopped = await HubStateCleanup.StopAsync(directory, signalLiveOwner: true, message => Console.Error.WriteLine(message), cancellationToken);
                Console.Error.WriteLine(stopped ? "Stopped." : $"Nothing is running from {directory}.");
                return 0;
            }
            catch (LocalHubException e)
            {
                Console.Error.WriteLine(e.Message);
                return 1;
            }
        });
        return command;
    }
}
