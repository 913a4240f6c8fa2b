using System.Security.Claims;
using System.Text;
using FamiljecentralHub.ServiceDefaults.Organisation;
using FamiljecentralHub.Topology;
using static FamiljecentralHub.Ops.Features.Console.ConsolePage;

namespace FamiljecentralHub.Ops.Features.Console;

/// <summary>
/// Dead letters: every error queue of every service, each listed and redriven by its own service (ErrorQueueApi in
/// ServiceDefaults) through the gateway, so Ops reads no other service's queue and the broker's boundaries stay as
/// they are. The page loads each service's section with the operator's own certificate, and so within their scope.
/// A redriven submission or delivery goes back through the gate, which decides it again.
/// </summary>
internal static class DeadLettersPage
{
    public static IResult Show(ClaimsPrincipal caller, OrganisationRegistry registry)
    {
        var scope = OperatorScope.Of(caller, registry);
        var html = new StringBuilder("<p class=\"note\">Each message is listed by its metadata only. A redrive is recorded in the ledger, with who and why, before it is made; a submission or a delivery goes back through the gate and is decided again.</p>");
        foreach (var service in Catalogue.Services)
        {
            var name = E(service.Name);
            html.Append($"<section class=\"panel\" data-service=\"{name}\"><h2>{name}</h2>")
                .Append($"<div hx-get=\"/{name}/errors\" hx-trigger=\"load\" hx-swap=\"innerHTML\">Loading…</div></section>");
        }

        return Html("Dead letters", "/dead-letters", scope, html.ToString());
    }
}
