namespace FamiljecentralHub.LocalHub;

/// <summary>
/// Whether private nodes (<see cref="RabbitMqNode.Private"/>, <see cref="PostgresNode.Private"/>) can start on this machine:
/// Debian's servers refuse to run as root and LocalHub starts them as the rabbitmq and postgres users, which only root
/// may do; and the packages must be installed (deploy/prerequisites.sh). Tests that need them skip with this reason
/// elsewhere, e.g. for a developer who runs the suite as themselves with a container engine (docs/testing.md).
/// </summary>
public static class PrivateNodes
{
    /// <summary>Why private nodes cannot start here, or null when they can.</summary>
    public static string? Unavailable { get; } = Check(Environment.UserName == "root", File.Exists, OperatingSystem.IsLinux());

    internal static string? Check(bool root, Func<string, bool> exists, bool linux) =>
        !linux ? "Private nodes need Linux with Debian's rabbitmq-server and postgresql-15."
        : !root ? "Private nodes run as the rabbitmq and postgres users, which only root may start: run as root (deploy/test.sh), or with a container engine (HUB_TEST_NODES=containers)."
        : !exists("/usr/lib/rabbitmq/bin/rabbitmq-server") && !exists("/usr/sbin/rabbitmq-server") || !exists("/usr/lib/postgresql/15/bin/postgres")
            ? "Private nodes need Debian's rabbitmq-server and postgresql-15 (deploy/prerequisites.sh installs them)."
            : null;
}
