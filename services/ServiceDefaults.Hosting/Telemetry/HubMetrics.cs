namespace FamiljecentralHub.ServiceDefaults.Telemetry;

/// <summary>
/// The names of the hub's own instruments that another process reads: Ops's alert evaluator reads them from each
/// service's <c>/metrics</c>, and deploy/monitoring/rules.yml alerts on them. The Prometheus name is what the
/// OpenTelemetry exporter makes of the instrument (dots to underscores, the unit and a counter's _total appended).
/// Labels are service names, unit ids, client ids, queue names, purposes, bases and outcomes: never a subject.
/// </summary>
public static class HubMetrics
{
    /// <summary>Restarts by the messaging watchdog, kept across the restarts themselves (MessagingWatchdog).</summary>
    public const string WatchdogRestarts = "hub.messaging.watchdog.restarts";
    public const string WatchdogRestartsPrometheus = "hub_messaging_watchdog_restarts_total";

    /// <summary>When the watchdog last restarted the service, Unix seconds; absent before the first.</summary>
    public const string WatchdogLastRestart = "hub.messaging.watchdog.last_restart_time";
    public const string WatchdogLastRestartPrometheus = "hub_messaging_watchdog_last_restart_time_seconds";

    /// <summary>1 when the ledger still held the head of its newest signed checkpoint at the last check, 0 when not.</summary>
    public const string LedgerVerified = "hub.ledger.verified";
    public const string LedgerVerifiedPrometheus = "hub_ledger_verified";

    /// <summary>When the ledger was last checked against its newest checkpoint, Unix seconds.</summary>
    public const string LedgerLastVerified = "hub.ledger.last_verified_time";
    public const string LedgerLastVerifiedPrometheus = "hub_ledger_last_verified_time_seconds";

    /// <summary>The seq of the newest signed checkpoint.</summary>
    public const string LedgerCheckpointSeq = "hub.ledger.checkpoint.seq";

    /// <summary>Flagged disclosures not reviewed in time, by responsible unit (issue 14 item 2).</summary>
    public const string ReviewsOverdue = "hub.reviews.overdue";
    public const string ReviewsOverduePrometheus = "hub_reviews_overdue";

    /// <summary>Flagged disclosures waiting for review, by responsible unit.</summary>
    public const string ReviewsOpen = "hub.reviews.open";

    /// <summary>The earliest NotAfter of the client certificates the gateway has seen lately, by client id, Unix seconds.</summary>
    public const string ClientCertificateExpiry = "hub.gateway.client_certificate.expiry_time";
    public const string ClientCertificateExpiryPrometheus = "hub_gateway_client_certificate_expiry_time_seconds";
}
