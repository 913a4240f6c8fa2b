namespace FamiljecentralHub.Topology;

/// <summary>
/// The fixed PostgreSQL group roles (NOLOGIN) that the services' migration scripts grant to and a deployment's
/// provisioning creates: each service's login roles are made members of them, per hub, with passwords of their own.
/// </summary>
/// <remarks>
/// Group roles rather than ALTER DEFAULT PRIVILEGES set at provisioning: the grants then stand in the migration scripts
/// beside the tables they are about, table by table (the ledger only SELECT and INSERT), reviewed with them and the
/// same in every deployment, while the login names and passwords stay the provisioning's. Default privileges would give
/// every new table the same rights and leave the ledger's exception to a REVOKE that names a per-hub role. The four
/// operation services share one migrations assembly and so one group; what keeps each in its own database is CONNECT,
/// granted per database to that service's logins alone. docs/security.md, "Database roles".
/// </remarks>
public static class DatabaseRoles
{
    /// <summary>The consent service's run-time rights: consents and announcements appended and read, the ledger appended and read.</summary>
    public const string ConsentRuntime = "hub_consent_dml";

    /// <summary>An operation service's run-time rights on its sent messages, inbox, notices, webhooks and idempotency keys.</summary>
    public const string OperationRuntime = "hub_operation_dml";

    /// <summary>Ops's run-time rights: lifecycle events and access refusals appended and read.</summary>
    public const string OpsRuntime = "hub_ops_dml";

    /// <summary>
    /// Owns the decision ledger and its append-only trigger's function. Nobody logs in as it; the consent service's
    /// migration role is a member, so that a later migration can still change the ledger's schema.
    /// </summary>
    public const string LedgerOwner = "hub_ledger_owner";

    /// <summary>Every group role a provisioning creates.</summary>
    public static IReadOnlyList<string> Groups { get; } = [ConsentRuntime, OperationRuntime, OpsRuntime, LedgerOwner];

    /// <summary>The group whose rights the service's run-time login holds.</summary>
    public static string RuntimeGroupOf(HubService service) => service.Role switch
    {
        ServiceRole.Operation => OperationRuntime,
        ServiceRole.Gate => ConsentRuntime,
        ServiceRole.Ops => OpsRuntime,
        _ => throw new InvalidOperationException($"No database role for the role {service.Role}."),
    };

    /// <summary>The groups the service's migration login is a member of: the ledger's owner, for the consent service.</summary>
    public static IReadOnlyList<string> MigrationGroupsOf(HubService service) => service.Role == ServiceRole.Gate ? [LedgerOwner] : [];
}
