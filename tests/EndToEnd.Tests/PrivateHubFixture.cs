using FamiljecentralHub.LocalHub;
using FamiljecentralHub.Tests.Support;

namespace FamiljecentralHub.EndToEnd.Tests;

/// <summary>One RabbitMQ node and one PostgreSQL of its own, so its database can be stopped.</summary>
public sealed class PrivateHubFixture() : OwnNodesHubFixture(new HubOptions { UseFreePorts = true, Nodes = HubNodes.Private });

/// <summary>A hub on a cluster of three private RabbitMQ nodes.</summary>
public sealed class ClusterHubFixture() : OwnNodesHubFixture(new HubOptions { UseFreePorts = true, Nodes = HubNodes.Private, BrokerNodes = 3 });
