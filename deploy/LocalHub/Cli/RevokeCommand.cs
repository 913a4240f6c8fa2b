using System.CommandLine;
using FamiljecentralHub.LocalHub.Pki;

namespace FamiljecentralHub.LocalHub.Cli;

/// <summary>
/// 'revoke': the demo CA revokes a client system's certificate, as a SITHS CA would on a lost card or a retired system.
/// The gateway of a running hub reads the new revocation list within a second and refuses the client from its next
/// request on; a new certificate is issued to the client at the hub's next start.
/// </summary>
internal static class RevokeCommand
{
    public static Command Create()
    {
        var stateDir = CommonOptions.StateDir("<repo>/.hub");
        var client = new Argument<string>("client") { Description = "The client system's id, as in deploy/demo/clients.json." };
        var command = new Command("revoke", "Revoke a client system's certificate in the demo CA's revocation list.") { stateDir, client };
        command.SetAction(parseResult =>
        {
            var pki = Path.Combine(CommonOptions.Resolve(parseResult.GetValue(stateDir), ".hub"), "pki");
            var id = parseResult.GetValue(client)!;
            var demo = DemoPki.Ensure(pki, [id]);
            demo.Revoke(id);
            Console.WriteLine($"Revoked the certificate of {id}; the gateway refuses it from its next request on.");
            return 0;
        });
        return command;
    }
}
