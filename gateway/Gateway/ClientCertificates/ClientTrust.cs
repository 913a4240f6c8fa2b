using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using FamiljecentralHub.Gateway.Configuration;
using Microsoft.AspNetCore.Authentication.Certificate;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;

namespace FamiljecentralHub.Gateway.ClientCertificates;

/// <summary>
/// Whom the gateway trusts: the client CA bundle (<c>Gateway:ClientCaPath</c>, one or more CA certificates, so an old
/// and a new CA can be trusted side by side during a change) and the client registry (<c>Gateway:ClientsPath</c>). Both
/// are read at start and again within a second of either file changing, so a CA, a client or a client's certificate is
/// added, rotated or removed without a restart and without a gap. A changed pair that does not load (a file half
/// written, a client entry that is wrong) leaves the last good pair in force and is logged, so the gateway never runs
/// on part of a file. The certificate handler's trust store follows through its options: this is their change source.
/// </summary>
internal sealed partial class ClientTrust : BackgroundService, IOptionsChangeTokenSource<CertificateAuthenticationOptions>
{
    private readonly string caPath;
    private readonly string clientsPath;
    private readonly ILogger<ClientTrust> logger;
    private Snapshot current;
    private CancellationTokenSource changed = new();
    private int generation;
    private (DateTime Ca, DateTime Clients) triedAt;

    public ClientTrust(IOptions<GatewayOptions> options, ILogger<ClientTrust> logger)
    {
        caPath = options.Value.ClientCaPath!;
        clientsPath = options.Value.ClientsPath!;
        this.logger = logger;
        triedAt = WrittenAt();
        current = Snapshot.Load(caPath, clientsPath); // a bad file at start stops the gateway, clearly
    }

    /// <summary>The CA certificates client certificates must chain to. Never changed in place: a change is a new collection.</summary>
    public X509Certificate2Collection Authorities => Volatile.Read(ref current).Authorities;

    public ClientRegistry Registry => Volatile.Read(ref current).Registry;

    /// <summary>
    /// Whether the certificate chains to the bundle with what the gateway holds, fetching nothing. The certificate handler
    /// builds chains with downloads on and no way to turn them off: an issuer missing from the bundle would be fetched from
    /// the address the certificate names, before anyone is authenticated. A certificate that passes here chains to the
    /// bundle alone, so the handler's own build finds every issuer locally. Validity periods and usage are the handler's.
    /// </summary>
    public bool ChainsOffline(X509Certificate2 certificate)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(Authorities);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.DisableCertificateDownloads = true;
        chain.ChainPolicy.VerificationFlags = X509VerificationFlags.IgnoreNotTimeValid;
        try
        {
            return chain.Build(certificate);
        }
        finally
        {
            foreach (var element in chain.ChainElements)
            {
                element.Certificate.Dispose();
            }
        }
    }

    /// <summary>Counts the changes that took effect, so what was decided under an earlier CA bundle is not reused.</summary>
    public int Generation => Volatile.Read(ref generation);

    string IOptionsChangeTokenSource<CertificateAuthenticationOptions>.Name => CertificateAuthenticationDefaults.AuthenticationScheme;

    public IChangeToken GetChangeToken() => new CancellationChangeToken(Volatile.Read(ref changed).Token);

    /// <summary>Reads both files again if either was written since last tried; true when a new pair took effect.</summary>
    public bool Refresh()
    {
        var written = WrittenAt();
        if (written == triedAt)
        {
            return false;
        }

        triedAt = written;
        try
        {
            Volatile.Write(ref current, Snapshot.Load(caPath, clientsPath));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or CryptographicException or InvalidOperationException)
        {
            // The message names a client id or a file setting at most, never a certificate's subject.
            LogReloadRefused(logger, ex.GetType().Name, ex.Message);
            return false;
        }

        Interlocked.Increment(ref generation);
        LogReloaded(logger, Authorities.Count, Registry.Count);
        Interlocked.Exchange(ref changed, new CancellationTokenSource()).Cancel();
        return true;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            Refresh();
        }
    }

    public override void Dispose()
    {
        changed.Dispose();
        base.Dispose();
    }

    private (DateTime, DateTime) WrittenAt() => (File.GetLastWriteTimeUtc(caPath), File.GetLastWriteTimeUtc(clientsPath));

    [LoggerMessage(Level = LogLevel.Information, Message = "Client trust read again: {Authorities} CA certificates, {Clients} clients.")]
    private static partial void LogReloaded(ILogger logger, int authorities, int clients);

    [LoggerMessage(Level = LogLevel.Error, Message = "Client CA or clients file changed but does not load ({Error}: {Reason}); the last good ones stay in force.")]
    private static partial void LogReloadRefused(ILogger logger, string error, string reason);

    private sealed record Snapshot(X509Certificate2Collection Authorities, ClientRegistry Registry)
    {
        public static Snapshot Load(string caPath, string clientsPath)
        {
            var authorities = new X509Certificate2Collection();
            authorities.ImportFromPemFile(caPath);
            if (authorities.Count == 0)
            {
                throw new InvalidOperationException("Gateway:ClientCaPath holds no certificate.");
            }

            // A client entry without an issuer is vouched for by the first CA of the bundle.
            return new Snapshot(authorities, ClientRegistry.Load(clientsPath, authorities[0].SubjectName));
        }
    }
}
