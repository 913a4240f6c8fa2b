using System.ComponentModel.DataAnnotations;

namespace FamiljecentralHub.ServiceDefaults.Messaging;

/// <summary>Each service connects as its own broker user, so the broker itself can hold it to its own queues.</summary>
public sealed class RabbitMqOptions
{
    public const string Section = "RabbitMq";

    [Required]
    public string Host { get; set; } = "127.0.0.1";

    [Range(1, 65535)]
    public int Port { get; set; } = 5672;

    [Required]
    public string VirtualHost { get; set; } = "/";

    [Required]
    public string Username { get; set; } = "";

    [Required]
    public string Password { get; set; } = "";

    /// <summary>How long a request may wait for the broker to confirm before the caller is told to retry.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:01:00")]
    public TimeSpan ConfirmTimeout { get; set; } = TimeSpan.FromSeconds(10);
}
