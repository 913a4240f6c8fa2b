using System.Text.RegularExpressions;
using FamiljecentralHub.Contracts.Disclosures;
using FamiljecentralHub.Topology;

namespace FamiljecentralHub.ServiceDefaults.Messaging;

/// <summary>
/// What a lifecycle event says beyond its units, subject, purpose and status, as the views keep it (the sender's status
/// view, Ops' trail and /metrics). The gate's reasons are its own phrases; a receiving service's are one of a fixed set
/// (<see cref="ReceiverReasons"/>), and a basis is an id: anything else a faulty or compromised publisher wrote there
/// (a name, an identity number, what the receiver knows of the family) would be shown across the boundary.
/// </summary>
public static partial class EventFields
{
    public static string[] Reasons(string? publisher, IEnumerable<string> reasons) =>
        publisher == Catalogue.Consent.Name ? [.. reasons] : [.. reasons.Where(ReceiverReasons.All.Contains)];

    public static string? Basis(string? basis) => basis is not null && BasisShape().IsMatch(basis) ? basis : null;

    /// <summary>The publisher of the event being received, as the broker vouches for it (<see cref="StatusEventOrigin"/>).</summary>
    public static string? PublisherOf(MassTransit.ReceiveContext context) => StatusRoutes.Parse(StatusEventOrigin.RoutingKeyOf(context))?.Publisher;

    /// <summary>A legal basis id as the catalogue writes them (consent, report-of-concern, …).</summary>
    [GeneratedRegex("^[a-z0-9][a-z0-9-]{0,63}\\z", RegexOptions.CultureInvariant)]
    private static partial Regex BasisShape();
}
