using System.ComponentModel.DataAnnotations;
using System.Globalization;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;

namespace FamiljecentralHub.ServiceDefaults.Messaging;

/// <summary>Each service connects as its own broker user, so the broker itself can hold it to its own queues.</summary>
public sealed class RabbitMqOptions : IValidatableObject
{
    public const string Section = "RabbitMq";

    [Required]
    public string Host { get; set; } = "127.0.0.1";

    [Range(1, 65535)]
    public int Port { get; set; } = 5672;

    /// <summary>
    /// The other nodes of the broker's cluster, "host:port" separated by commas (e.g. "127.0.0.1:5673,127.0.0.1:5674");
    /// empty for a single node. The service connects to Host:Port first and, when its node goes away, to the next.
    /// </summary>
    public string Nodes { get; set; } = "";

    [Required]
    public string VirtualHost { get; set; } = "/";

    [Required]
    public string Username { get; set; } = "";

    [Required]
    public string Password { get; set; } = "";

    /// <summary>How long a request may wait for the broker to confirm before the caller is told to retry.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:01:00")]
    public TimeSpan ConfirmTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>"host:port" of every node, Host:Port first.</summary>
    public IReadOnlyList<string> AllNodes() =>
        [string.Create(CultureInfo.InvariantCulture, $"{Host}:{Port}"), .. Nodes.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)];

    /// <summary>
    /// A plain RabbitMQ.Client connection beside MassTransit's, without automatic recovery (its user opens a new one),
    /// to the nodes in their order, Host:Port first, as MassTransit's connections go (the client's own list is
    /// shuffled): an operator finds all of a service's connections on one node.
    /// </summary>
    public async Task<IConnection> ConnectAsync(string clientName, CancellationToken cancellationToken)
    {
        var factory = new ConnectionFactory
        {
            VirtualHost = VirtualHost,
            UserName = Username,
            Password = Password,
            ClientProvidedName = clientName,
            AutomaticRecoveryEnabled = false,
        };
        var nodes = AllNodes();
        for (var i = 0; ; i++)
        {
            factory.Endpoint = AmqpTcpEndpoint.Parse(nodes[i]);
            try
            {
                return await factory.CreateConnectionAsync(cancellationToken);
            }
            catch (BrokerUnreachableException) when (i < nodes.Count - 1)
            {
                // That node is down: the next.
            }
        }
    }

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        // A typo here would only show when the first node fails, as a connection to nowhere: refuse it at start.
        foreach (var node in AllNodes().Skip(1))
        {
            var separator = node.LastIndexOf(':');
            if (separator <= 0 || !int.TryParse(node[(separator + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port is < 1 or > 65535)
            {
                yield return new ValidationResult($"'{node}' in {nameof(Nodes)} is not host:port.", [nameof(Nodes)]);
            }
        }
    }
}
