using FamiljecentralHub.LocalHub;
using FamiljecentralHub.Tests.Support;

namespace FamiljecentralHub.Faults.Tests;

/// <summary>A quorum queue declared a moment ago can lose its leader to a kill: a fresh hub settles before a fault.</summary>
public sealed class SingleNodeHubFixture() : OwnNodesHubFixture(new HubOptions { UseFreePorts = true, Nodes = HubNodes.Private }, FaultHub.Settle);

/// <summary>The single-node faults and the back-pressure checks share one hub: a hub start is a fifth of a fault run.</summary>
[CollectionDefinition(Name)]
public sealed class SingleNodeHub : ICollectionFixture<SingleNodeHubFixture>
{
    public const string Name = "single-node hub";
}

internal static class FaultHub
{
    public static readonly TimeSpan Settle = TimeSpan.FromSeconds(2);
}
