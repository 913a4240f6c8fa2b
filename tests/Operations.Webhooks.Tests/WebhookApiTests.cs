namespace FamiljecentralHub.Operations.Webhooks.Tests;

public sealed class WebhookApiTests
{
    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("/relative/hook")]
    [InlineData("ftp://example.org/hook")]
    [InlineData("file:///etc/passwd")]
    [InlineData("https://user:pass@example.org/hook")]
    [InlineData("https://example.org/hook#part")]
    public void Validate_NotAnAbsoluteHttpUrl_Rejected(string? url) => WebhookApi.Validate(url).ShouldNotBeNull();

    [Theory]
    [InlineData("https://ehr.example.org/hub/webhook")]
    [InlineData("http://127.0.0.1:8080/hook?tenant=7")]
    public void Validate_AbsoluteHttpUrl_Accepted(string url) => WebhookApi.Validate(url).ShouldBeNull();
}
