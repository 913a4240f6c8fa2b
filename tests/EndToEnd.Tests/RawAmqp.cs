using System.Text.Json;
using FamiljecentralHub.LocalHub;
using RabbitMQ.Client;

namespace FamiljecentralHub.EndToEnd.Tests;

/// <summary>Plain AMQP with a service's own broker credentials: what that service (or an intruder in it) can do.</summary>
internal static class RawAmqp
{
    public static async Task<IConnection> ConnectAsync(Hub hub, string service, CancellationToken cancellationToken)
    {
        var account = hub.BrokerAccount(service);
        var factory = new ConnectionFactory
        {
            HostName = hub.Rabbit.Host,
            Port = hub.Rabbit.AmqpPort,
            VirtualHost = hub.VirtualHost,
            UserName = account.User,
            Password = account.Password,
            AutomaticRecoveryEnabled = false,
        };
        return await factory.CreateConnectionAsync(cancellationToken);
    }

    public static Task<IChannel> OpenConfirmingChannelAsync(IConnection connection, CancellationToken cancellationToken) =>
        // Tracking makes BasicPublishAsync complete only once the broker has confirmed the message.
        connection.CreateChannelAsync(new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true), cancellationToken);

    /// <summary>Publishes a message as MassTransit would put it on the wire (its JSON envelope), mandatory and persistent.</summary>
    public static async Task PublishAsync<T>(
        IChannel channel, string exchange, string routingKey, T message, Guid messageId, CancellationToken cancellationToken,
        IDictionary<string, object?>? headers = null)
    {
        var envelope = new
        {
            messageId,
            messageType = new[] { $"urn:message:{typeof(T).Namespace}:{typeof(T).Name}" },
            message,
            sentTime = DateTimeOffset.UtcNow,
        };
        await channel.BasicPublishAsync(
            exchange, routingKey, mandatory: true,
            new BasicProperties
            {
                ContentType = "application/vnd.masstransit+json", Persistent = true, MessageId = messageId.ToString(), Headers = headers,
            },
            JsonSerializer.SerializeToUtf8Bytes(envelope, JsonSerializerOptions.Web),
            cancellationToken);
    }
}
