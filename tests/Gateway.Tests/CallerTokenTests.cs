using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using FamiljecentralHub.Gateway.Tests.Fixtures;
using FamiljecentralHub.ServiceDefaults.Security;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace FamiljecentralHub.Gateway.Tests;

public sealed class CallerTokenTests : IDisposable
{
    private static readonly DateTimeOffset Now = new(2026, 11, 22, 12, 0, 0, TimeSpan.Zero);

    private readonly TempFolder folder = new();
    private readonly string privateKeyPath;
    private readonly string publicKeyPath;

    public CallerTokenTests() => (privateKeyPath, publicKeyPath) = WriteKeyPair("gateway");

    public void Dispose() => folder.Dispose();

    [Fact]
    public async Task Validate_FreshToken_YieldsClientAndUnits()
    {
        var token = new CallerTokenIssuer(privateKeyPath).Issue("bvc-ehr", ["rosengard-bvc", "solglantan-bvc"], "child-health");

        var result = await new CallerTokenValidator(publicKeyPath, "child-health").ValidateAsync(token);

        result.IsValid.ShouldBeTrue(result.FailureReason);
        result.Principal!.Identity!.IsAuthenticated.ShouldBeTrue();
        result.Principal.ClientId().ShouldBe("bvc-ehr");
        result.Principal.Units().ShouldBe(["rosengard-bvc", "solglantan-bvc"]);
        result.Principal.ActsFor("solglantan-bvc").ShouldBeTrue();
        result.Principal.ActsFor("rosengard-mvc").ShouldBeFalse();
    }

    [Fact]
    public async Task Validate_TokenWithDuties_YieldsEachDutyAndNoOther()
    {
        var issuer = new CallerTokenIssuer(privateKeyPath);
        var token = issuer.Issue("region-loggranskning", ["rosengard-bvc"], "consent", [Duties.LogExtract, Duties.DisclosureReview]);
        var without = issuer.Issue("bvc-ehr", ["rosengard-bvc"], "consent");

        var result = await new CallerTokenValidator(publicKeyPath, "consent").ValidateAsync(token);
        var plain = await new CallerTokenValidator(publicKeyPath, "consent").ValidateAsync(without);

        result.IsValid.ShouldBeTrue(result.FailureReason);
        var staff = result.Principal.ShouldNotBeNull();
        staff.HasDuty(Duties.LogExtract).ShouldBeTrue();
        staff.HasDuty(Duties.DisclosureReview).ShouldBeTrue();
        staff.HasDuty(Duties.LogFollowUp).ShouldBeFalse();
        plain.Principal.ShouldNotBeNull().HasDuty(Duties.LogExtract).ShouldBeFalse();
        JsonNode.Parse(Base64Url.DecodeFromChars(without.Split('.')[1]))!["duties"].ShouldBeNull();
    }

    /// <summary>A token reused from the cache must not outlive a change of the client's duties.</summary>
    [Fact]
    public void Issue_DutiesChanged_IssuesANewToken()
    {
        var issuer = new CallerTokenIssuer(privateKeyPath);
        var first = issuer.Issue("region-loggranskning", ["rosengard-bvc"], "consent", [Duties.LogExtract]);

        issuer.Issue("region-loggranskning", ["rosengard-bvc"], "consent", [Duties.LogExtract]).ShouldBe(first);
        issuer.Issue("region-loggranskning", ["rosengard-bvc"], "consent", []).ShouldNotBe(first);
    }

    [Fact]
    public void Issue_AnyToken_HasExpectedHeaderAndClaims()
    {
        var time = new FixedTimeProvider(Now);
        var token = new CallerTokenIssuer(privateKeyPath, timeProvider: time).Issue("ops-console", [], "ops");

        var jwt = new JsonWebToken(token);
        jwt.Alg.ShouldBe("ES256");
        jwt.Issuer.ShouldBe("familjecentralhub-gateway");
        jwt.Audiences.ShouldBe(["ops"]);
        jwt.Subject.ShouldBe("ops-console");
        jwt.Id.ShouldNotBeNullOrEmpty();
        jwt.ValidTo.ShouldBe(Now.UtcDateTime.AddSeconds(60));
        var payload = JsonNode.Parse(Base64Url.DecodeFromChars(token.Split('.')[1]))!;
        payload["units"].ShouldBeOfType<JsonArray>().ShouldBeEmpty();
    }

    [Fact]
    public async Task Validate_ExpiredToken_IsRejected()
    {
        // Issued 70 s ago: expired 10 s ago, beyond the 5 s clock skew.
        var issuedAt = new FixedTimeProvider(DateTimeOffset.UtcNow.AddSeconds(-70));
        var token = new CallerTokenIssuer(privateKeyPath, timeProvider: issuedAt).Issue("bvc-ehr", ["rosengard-bvc"], "child-health");

        var result = await new CallerTokenValidator(publicKeyPath, "child-health").ValidateAsync(token);

        result.IsValid.ShouldBeFalse();
        result.FailureReason.ShouldBe(nameof(SecurityTokenExpiredException));
    }

    [Fact]
    public async Task Validate_TokenForAnotherService_IsRejected()
    {
        var token = new CallerTokenIssuer(privateKeyPath).Issue("bvc-ehr", ["rosengard-bvc"], "child-health");

        var result = await new CallerTokenValidator(publicKeyPath, "social-services").ValidateAsync(token);

        result.IsValid.ShouldBeFalse();
        result.FailureReason.ShouldBe(nameof(SecurityTokenInvalidAudienceException));
    }

    [Fact]
    public async Task Validate_TokenSignedWithAnotherKey_IsRejected()
    {
        var (otherPrivateKeyPath, _) = WriteKeyPair("impostor");
        var token = new CallerTokenIssuer(otherPrivateKeyPath).Issue("bvc-ehr", ["rosengard-bvc"], "child-health");

        var result = await new CallerTokenValidator(publicKeyPath, "child-health").ValidateAsync(token);

        result.IsValid.ShouldBeFalse();
        result.FailureReason.ShouldNotBeNull().ShouldContain("Signature");
    }

    [Fact]
    public async Task Validate_TamperedPayload_IsRejected()
    {
        var token = new CallerTokenIssuer(privateKeyPath).Issue("bvc-ehr", ["rosengard-bvc"], "child-health");
        var parts = token.Split('.');
        var payload = JsonNode.Parse(Base64Url.DecodeFromChars(parts[1]))!.AsObject();
        payload["units"] = new JsonArray("rosengard-bvc", "rosengard-socialtjanst");
        var tampered = $"{parts[0]}.{Base64Url.EncodeToString(Encoding.UTF8.GetBytes(payload.ToJsonString()))}.{parts[2]}";

        var result = await new CallerTokenValidator(publicKeyPath, "child-health").ValidateAsync(tampered);

        result.IsValid.ShouldBeFalse();
        result.FailureReason.ShouldNotBeNull().ShouldContain("Signature");
    }

    [Fact]
    public async Task Validate_UnsignedToken_IsRejected()
    {
        var header = Base64Url.EncodeToString("""{"alg":"none","typ":"JWT"}"""u8);
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var payload = Base64Url.EncodeToString(Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["iss"] = CallerTokenDefaults.Issuer, ["aud"] = "child-health", ["sub"] = "bvc-ehr",
            ["units"] = new[] { "rosengard-bvc" }, ["iat"] = now, ["nbf"] = now, ["exp"] = now + 60,
        })));

        var result = await new CallerTokenValidator(publicKeyPath, "child-health").ValidateAsync($"{header}.{payload}.");

        result.IsValid.ShouldBeFalse();
    }

    [Fact]
    public async Task Validate_RightKeyButWrongIssuer_IsRejected()
    {
        using var key = ECDsa.Create();
        key.ImportFromPem(await File.ReadAllTextAsync(privateKeyPath, TestContext.Current.CancellationToken));
        var token = new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = "someone-else",
            Audience = "child-health",
            Expires = DateTime.UtcNow.AddSeconds(60),
            Claims = new Dictionary<string, object> { ["sub"] = "bvc-ehr" },
            SigningCredentials = new SigningCredentials(KeyWithKid(key), SecurityAlgorithms.EcdsaSha256),
        });

        var result = await new CallerTokenValidator(publicKeyPath, "child-health").ValidateAsync(token);

        result.IsValid.ShouldBeFalse();
        result.FailureReason.ShouldBe(nameof(SecurityTokenInvalidIssuerException));
    }

    /// <summary>Every token names its key by the RFC 7638 thumbprint of the public key, which anyone given the key can compute.</summary>
    [Fact]
    public async Task Issue_AnyToken_NamesItsKeyByItsThumbprint()
    {
        var token = new CallerTokenIssuer(privateKeyPath).Issue("bvc-ehr", ["rosengard-bvc"], "child-health");

        using var key = ECDsa.Create();
        key.ImportFromPem(await File.ReadAllTextAsync(publicKeyPath, TestContext.Current.CancellationToken));
        new JsonWebToken(token).Kid.ShouldBe(Base64UrlEncoder.Encode(new ECDsaSecurityKey(key).ComputeJwkThumbprint()));
    }

    /// <summary>The right key and claims, but no kid: the token binds to no key, and is refused.</summary>
    [Fact]
    public async Task Validate_TokenWithoutKid_IsRejected()
    {
        using var key = ECDsa.Create();
        key.ImportFromPem(await File.ReadAllTextAsync(privateKeyPath, TestContext.Current.CancellationToken));
        var token = new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = CallerTokenDefaults.Issuer,
            Audience = "child-health",
            Expires = DateTime.UtcNow.AddSeconds(60),
            Claims = new Dictionary<string, object> { ["sub"] = "bvc-ehr", ["units"] = new[] { "rosengard-bvc" } },
            SigningCredentials = new SigningCredentials(new ECDsaSecurityKey(key), SecurityAlgorithms.EcdsaSha256),
        });

        var result = await new CallerTokenValidator(publicKeyPath, "child-health").ValidateAsync(token);

        result.IsValid.ShouldBeFalse();
    }

    /// <summary>During a rotation the file holds the old and the new public key: tokens of both are valid.</summary>
    [Fact]
    public async Task Validate_TwoKeysInTheFile_TokensOfBothAreValid()
    {
        var (newPrivateKeyPath, newPublicKeyPath) = WriteKeyPair("gateway-next");
        var both = Path.Combine(folder.Path, "both.pub.pem");
        await File.WriteAllTextAsync(both, $"{await File.ReadAllTextAsync(publicKeyPath, Ct)}\n{await File.ReadAllTextAsync(newPublicKeyPath, Ct)}\n", Ct);
        var validator = new CallerTokenValidator(both, "child-health");

        foreach (var key in new[] { privateKeyPath, newPrivateKeyPath })
        {
            var result = await validator.ValidateAsync(new CallerTokenIssuer(key).Issue("bvc-ehr", ["rosengard-bvc"], "child-health"));
            result.IsValid.ShouldBeTrue(result.FailureReason);
        }
    }

    /// <summary>
    /// Keys rotate without a restart: the validator reads its key file again when it changes, so once the old key is gone
    /// from the file its tokens are refused; the issuer reads its private key again, and its next token names the new key.
    /// </summary>
    [Fact]
    public async Task Rotate_KeyFilesChanged_NewKeyValidAndOldRefusedWithoutARestart()
    {
        var keyFile = Path.Combine(folder.Path, "rotating.pub.pem");
        var signingFile = Path.Combine(folder.Path, "rotating.key");
        File.Copy(publicKeyPath, keyFile);
        File.Copy(privateKeyPath, signingFile);
        var validator = new CallerTokenValidator(keyFile, "child-health", keyRefresh: TimeSpan.Zero);
        var issuer = new CallerTokenIssuer(signingFile);
        var old = issuer.Issue("bvc-ehr", ["rosengard-bvc"], "child-health");
        (await validator.ValidateAsync(old)).IsValid.ShouldBeTrue();

        var (newPrivateKeyPath, newPublicKeyPath) = WriteKeyPair("gateway-next");
        Replace(keyFile, newPublicKeyPath);
        Replace(signingFile, newPrivateKeyPath);
        await Task.Delay(TimeSpan.FromMilliseconds(1100), Ct); // the issuer looks at its key file at most once a second
        var renewed = issuer.Issue("mvc-ehr", ["rosengard-mvc"], "child-health");

        new JsonWebToken(renewed).Kid.ShouldNotBe(new JsonWebToken(old).Kid);
        (await validator.ValidateAsync(renewed)).IsValid.ShouldBeTrue();
        (await validator.ValidateAsync(old)).IsValid.ShouldBeFalse();
    }

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>As a deployment replaces a file: whole, under a later time.</summary>
    private static void Replace(string path, string with)
    {
        var written = File.GetLastWriteTimeUtc(path);
        File.Copy(with, path, overwrite: true);
        File.SetLastWriteTimeUtc(path, written.AddSeconds(1));
    }

    private static ECDsaSecurityKey KeyWithKid(ECDsa key)
    {
        var securityKey = new ECDsaSecurityKey(key);
        securityKey.KeyId = Base64UrlEncoder.Encode(securityKey.ComputeJwkThumbprint());
        return securityKey;
    }

    [Fact]
    public void Issue_SameClientAndAudienceWithinHalfLifetime_ReusesToken()
    {
        var time = new FixedTimeProvider(Now);
        var issuer = new CallerTokenIssuer(privateKeyPath, timeProvider: time);
        var first = issuer.Issue("bvc-ehr", ["rosengard-bvc"], "child-health");

        time.Now = Now.AddSeconds(29);
        issuer.Issue("bvc-ehr", ["rosengard-bvc"], "child-health").ShouldBe(first);
        issuer.Issue("bvc-ehr", ["rosengard-bvc"], "consent").ShouldNotBe(first);
        issuer.Issue("mvc-ehr", ["rosengard-bvc"], "child-health").ShouldNotBe(first);
        issuer.Issue("bvc-ehr", ["solglantan-bvc"], "child-health").ShouldNotBe(first);

        time.Now = Now.AddSeconds(31);
        var renewed = issuer.Issue("bvc-ehr", ["rosengard-bvc"], "child-health");
        renewed.ShouldNotBe(first);
        new JsonWebToken(renewed).ValidTo.ShouldBe(Now.UtcDateTime.AddSeconds(91));
    }

    [Fact]
    public void Create_IssuerWithPublicKeyOnly_Throws()
    {
        Should.Throw<CryptographicException>(() => new CallerTokenIssuer(publicKeyPath));
    }

    private (string PrivateKeyPath, string PublicKeyPath) WriteKeyPair(string name)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var privatePath = Path.Combine(folder.Path, $"{name}.key");
        var publicPath = Path.Combine(folder.Path, $"{name}.pub.pem");
        File.WriteAllText(privatePath, key.ExportPkcs8PrivateKeyPem());
        File.WriteAllText(publicPath, key.ExportSubjectPublicKeyInfoPem());
        return (privatePath, publicPath);
    }
}
