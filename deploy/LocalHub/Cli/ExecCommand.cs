using System.CommandLine;
using System.Diagnostics;

namespace FamiljecentralHub.LocalHub.Cli;

/// <summary>
/// 'exec': runs one of a running hub's services once as a command (consent's <c>verify-ledger</c>, any service's
/// <c>errors</c>) with exactly the settings the running service has: its connection strings, broker user and keys are
/// read from the running process (/proc/PID/environ, readable by root only), so no secret is written anywhere for it.
/// </summary>
internal static class ExecCommand
{
    public static Command Create()
    {
        var stateDir = CommonOptions.StateDir("<repo>/.hub");
        var service = new Argument<string>("service") { Description = "The service: consent, child-health, maternity-care, open-preschool, social-services or ops." };
        var arguments = new Argument<string[]>("arguments") { Description = "The command and its arguments, e.g. verify-ledger, or errors redrive --all.", Arity = ArgumentArity.OneOrMore };
        var command = new Command("exec", "Run a service of the running hub once as a command, with that service's own settings.") { stateDir, service, arguments };
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            var directory = CommonOptions.Resolve(parseResult.GetValue(stateDir), ".hub");
            var name = parseResult.GetValue(service)!;
            var running = HubState.Read(directory)?.Processes.FirstOrDefault(process => process.Name == name);
            if (running is null || !File.Exists($"/proc/{running.Pid}/environ"))
            {
                Console.Error.WriteLine($"No running service '{name}' in {directory}: start the hub with deploy/run.sh first.");
                return 1;
            }

            var info = new ProcessStartInfo(DotnetHost.Path) { UseShellExecute = false, WorkingDirectory = Path.GetDirectoryName(running.DllPath)! };
            info.ArgumentList.Add(running.DllPath);
            foreach (var argument in parseResult.GetValue(arguments)!)
            {
                info.ArgumentList.Add(argument);
            }

            info.Environment.Clear();
            foreach (var variable in (await File.ReadAllTextAsync($"/proc/{running.Pid}/environ", cancellationToken)).Split('\0', StringSplitOptions.RemoveEmptyEntries))
            {
                var equals = variable.IndexOf('=', StringComparison.Ordinal);
                if (equals > 0)
                {
                    info.Environment[variable[..equals]] = variable[(equals + 1)..];
                }
            }

            // The command's output goes straight to this terminal: it is the service's own, and names no person.
            using var process = Process.Start(info)!;
            await process.WaitForExitAsync(cancellationToken);
            return process.ExitCode;
        });
        return command;
    }
}
