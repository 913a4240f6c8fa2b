using FamiljecentralHub.LocalHub.Pki;
using Microsoft.Playwright;

namespace FamiljecentralHub.EndToEnd.Tests.Console;

/// <summary>
/// A real browser for the console: Debian's Chromium driven by Playwright (which downloads no browser of its own),
/// each operator in a context of its own that presents that operator's client certificate to the gateway, as a SITHS
/// card would. Screenshots go to <see cref="ScreenshotFolder"/>.
/// </summary>
public sealed class ConsoleBrowserFixture : IAsyncLifetime
{
    public const string Chromium = "/usr/bin/chromium";

    private IPlaywright? playwright;

    public IBrowser Browser { get; private set; } = null!;

    public static string ScreenshotFolder { get; } = Path.Combine(AppContext.BaseDirectory, "screenshots");

    public async ValueTask InitializeAsync()
    {
        if (!File.Exists(Chromium))
        {
            return; // each test says why it is skipped, or fails on CI (ConsoleBrowserTests.RequireBrowser)
        }

        Directory.CreateDirectory(ScreenshotFolder);
        playwright = await Playwright.CreateAsync();
        Browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Chromium,
            Headless = true,
            // Tests run as root, where Chromium's sandbox cannot start.
            Args = ["--no-sandbox"],
        });
    }

    public bool Available => playwright is not null;

    /// <summary>A browser context that presents <paramref name="clientId"/>'s certificate to the gateway.</summary>
    public Task<IBrowserContext> OperatorAsync(HubFixture hub, string clientId) => OperatorAsync(hub.Hub.GatewayUrl, hub.Pki, clientId);

    /// <summary>As above, for a hub of a test class's own.</summary>
    public async Task<IBrowserContext> OperatorAsync(Uri gatewayUrl, DemoPki pki, string clientId)
    {
        var origin = gatewayUrl.GetLeftPart(UriPartial.Authority);
        return await Browser.NewContextAsync(new BrowserNewContextOptions
        {
            // The demo CA issued the gateway's certificate; the browser has no reason to trust it.
            IgnoreHTTPSErrors = true,
            BaseURL = origin,
            ViewportSize = new ViewportSize { Width = 1280, Height = 900 },
            ClientCertificates =
            [
                new ClientCertificate { Origin = origin, CertPath = pki.ClientCertificatePath(clientId), KeyPath = pki.ClientKeyPath(clientId) },
            ],
        });
    }

    public async ValueTask DisposeAsync()
    {
        if (playwright is not null)
        {
            await Browser.DisposeAsync();
            playwright.Dispose();
        }
    }
}
