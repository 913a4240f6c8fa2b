using System.Security.Claims;
using FamiljecentralHub.ServiceDefaults.Organisation;
using FamiljecentralHub.ServiceDefaults.Security;

namespace FamiljecentralHub.Ops.Features.Console;

/// <summary>
/// What one operator may see (issue 13, "scoped per principal"): the hub's operators every message, a principal's only
/// messages that one of its units sends or receives. A caller whose token names no scope, or a principal the
/// organisation file does not know, sees nothing: the view fails closed.
/// </summary>
internal sealed record OperatorScope(string Name, string[]? Units)
{
    /// <summary>Every message: the hub's own operations staff.</summary>
    public bool All => Units is null;

    /// <summary>For SQL, with <see cref="Filter"/>.</summary>
    public string[] UnitList => Units ?? [];

    /// <summary>
    /// For a row of <c>messages</c> or <c>message_events</c>. On the receiving side only what was let through: a refusal
    /// never reveals to the receiver that a message existed (domain.md section 5), nor does another body under a decided
    /// id (a conflict), so neither is shown to the receiving principal's operators.
    /// </summary>
    public const string Filter =
        "(@All OR sending_unit = ANY(@UnitList) OR (receiving_unit = ANY(@UnitList) AND status NOT IN ('Refused', 'Conflict')))";

    public static OperatorScope Of(ClaimsPrincipal caller, OrganisationRegistry registry) => caller.Operates() switch
    {
        OperatorScopes.Hub => new(OperatorScopes.Hub, null),
        { } principal => new(principal, [.. registry.Document.Units.Where(unit => unit.Principal == principal).Select(unit => unit.Id)]),
        null => new("none", []),
    };
}
