namespace FamiljecentralHub.LocalHub;

/// <summary>A local hub could not be started, stopped or configured; the message says what to look at.</summary>
public sealed class LocalHubException : Exception
{
    public LocalHubException(string message)
        : base(message)
    {
    }

    public LocalHubException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
