namespace FamiljecentralHub.LocalHub.Tests;

public sealed class HubStateTests
{
    [Fact]
    public void Read_StateWrittenBeforeClusters_KeepsItsSingleNodeSoStopCanStopIt()
    {
        var directory = TestDirectories.Create("state");
        try
        {
            // What a hub started by an earlier build (still running while LocalHub is rebuilt) has on disk.
            File.WriteAllText(HubState.PathIn(directory), """
                {
                  "ownerPid": null,
                  "rabbitMq": { "directory": "/tmp/x/rabbitmq", "amqpPort": 5672, "managementPort": 15672, "distributionPort": 25672, "startedEpmd": true },
                  "processes": [],
                  "deleteOnStop": []
                }
                """);

            var state = HubState.Read(directory).ShouldNotBeNull();

            state.RabbitMq.ShouldBe(new RabbitMqState("/tmp/x/rabbitmq", 5672, 15672, 25672, StartedEpmd: true));
            state.RabbitMqNodes.ShouldBeEmpty();
        }
        finally
        {
            Processes.UnixFiles.DeleteDirectory(directory);
        }
    }

    [Fact]
    public void Write_Cluster_RecordsEveryNodeInOrderAndNoSingleNode()
    {
        var directory = TestDirectories.Create("state");
        try
        {
            RabbitMqState[] nodes =
            [
                new("/tmp/x/rabbitmq-1", 5672, 15672, 25672, StartedEpmd: true),
                new("/tmp/x/rabbitmq-2", 5673, 15673, 25673, StartedEpmd: false),
                new("/tmp/x/rabbitmq-3", 5674, 15674, 25674, StartedEpmd: false),
            ];

            new HubState { RabbitMqNodes = nodes }.Write(directory);

            File.ReadAllText(HubState.PathIn(directory)).ShouldNotContain("\"rabbitMq\"");
            HubState.Read(directory).ShouldNotBeNull().RabbitMqNodes.ShouldBe(nodes);
        }
        finally
        {
            Processes.UnixFiles.DeleteDirectory(directory);
        }
    }
}
