using FamiljecentralHub.Consent.Features.Accountability;
using FamiljecentralHub.Consent.Features.Consents;
using FamiljecentralHub.Consent.Features.Gate;
using FamiljecentralHub.Consent.Features.Ledger;
using FamiljecentralHub.Consent.Features.Ledger.Anchoring;
using FamiljecentralHub.ServiceDefaults.Data;
using FamiljecentralHub.ServiceDefaults.Messaging;
using FamiljecentralHub.Topology;
using MassTransit;

namespace FamiljecentralHub.Consent;

internal static class ConsentServiceExtensions
{
    public static WebApplicationBuilder AddConsentServices(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<LegalBasisOptions>().BindConfiguration(LegalBasisOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton<LegalBasisCatalog>();
        builder.Services.AddSingleton<SecrecyGate>();
        builder.Services.AddSingleton<ConsentValidator>();
        builder.Services.AddSingleton<ConsentStore>();
        builder.Services.AddSingleton<DecisionLedger>();
        builder.AddHubDatabase(typeof(ConsentServiceExtensions).Assembly);
        builder.Services.AddSingleton<LedgerWriter>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<LedgerWriter>());
        builder.Services.AddSingleton<RevocationAnnouncer>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<RevocationAnnouncer>());
        builder.Services.AddSingleton<CoverageWithdrawals>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<CoverageWithdrawals>());
        builder.Services.AddOptions<AccountabilityOptions>().BindConfiguration(AccountabilityOptions.Section).ValidateDataAnnotations()
            .Validate(o => o.OfficeHoursStart < o.OfficeHoursEnd, "Accountability:OfficeHoursStart must be before Accountability:OfficeHoursEnd.")
            .Validate(o => TimeZoneInfo.TryFindSystemTimeZoneById(o.TimeZone, out _), "Accountability:TimeZone must name a time zone this machine knows.")
            .ValidateOnStart();
        builder.Services.AddSingleton<AccountabilityValidator>();
        builder.Services.AddSingleton<LogExtracts>();
        builder.Services.AddSingleton<ReviewQueue>();
        builder.Services.AddHostedService<ReviewMetrics>();
        builder.Services.AddSingleton<LogFollowUps>();
        builder.Services.AddSingleton<ConsentLedger>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<ConsentLedger>());
        // The ledger's anchor outside the database (docs/security.md, "Ledger anchoring"): without a signing key and a
        // checkpoint directory the gate does not start, so no ledger runs unanchored.
        builder.Services.AddOptions<LedgerAnchorOptions>().BindConfiguration(LedgerAnchorOptions.Section).ValidateDataAnnotations()
            .Validate(o => CheckpointKeys.TryLoadPrivate(o.SigningKeyPath), "Ledger:SigningKeyPath must name a readable PEM file with an ECDSA P-256 private key.")
            .Validate(o => o.VerificationKeyPaths.All(CheckpointKeys.TryLoadPublic), "Every Ledger:VerificationKeyPaths entry must name a readable PEM file with an ECDSA P-256 public key.")
            .ValidateOnStart();
        builder.Services.AddSingleton<LedgerCheckpointer>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<LedgerCheckpointer>());
        builder.AddHubMessaging(x =>
        {
            x.AddConsumer<SubmitDisclosureConsumer>().Endpoint(e =>
            {
                e.Name = Queues.Gate;
                // Submissions reach the gate only by a direct send to its queue.
                e.ConfigureConsumeTopology = false;
            });
            x.AddConsumer<RedeliverDisclosureConsumer>().Endpoint(e =>
            {
                e.Name = Queues.Redeliveries;
                // Deliveries a receiver put back come only through its own way back, bound by the deployment.
                e.ConfigureConsumeTopology = false;
            });
            x.AddConsumer<LifecycleLedgerConsumer, LifecycleLedgerConsumerDefinition>();
            x.AddConsumer<OperatorActionLedgerConsumer, OperatorActionLedgerConsumerDefinition>();
        });
        return builder;
    }
}
