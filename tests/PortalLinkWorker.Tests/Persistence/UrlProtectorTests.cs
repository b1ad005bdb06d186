using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using PortalLinkWorker.Persistence;

namespace PortalLinkWorker.Tests.Persistence;

/// <summary>Portal URLs encrypted at rest (AES-256-GCM, bound to their row) and the <c>Database:UrlKeys</c> key ring:
/// round trip, wrong key, tampering, another row, rotation, and settings refused without echoing a key.</summary>
[Trait("Category", "Unit")]
public sealed class UrlProtectorTests
{
    private const string Url = "https://portal.upflow-simulator.invalid/p/tok-9c41f2e7a0b35d68";

    private static readonly Guid Row = Guid.Parse("7d3f0c1e-58a4-4c7b-9e2d-1a6b8f4c3e90");

    private static string NewKey() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    private static UrlKeyRing Ring(string setting) =>
        UrlKeyRing.TryParse(setting, out var ring, out var problems) ? ring : throw new ArgumentException(string.Join(" ", problems));

    private static UrlProtector Protector(string setting) => new(Ring(setting));

    [Fact]
    public void Protect_ThenUnprotect_GivesTheUrlBack_InTheVersionedForm()
    {
        var key = NewKey();
        var protector = Protector(key);

        var stored = protector.Protect(Url, Row);

        Assert.Equal(Url, protector.Unprotect(stored, Row));
        var parts = stored.Split(':');
        Assert.Equal(["v1", UrlKeyRing.IdOf(Convert.FromBase64String(key))], parts[..2]);
        // nonce (12) + ciphertext (the URL's length) + tag (16)
        Assert.Equal(12 + Encoding.UTF8.GetByteCount(Url) + 16, Convert.FromBase64String(parts[2]).Length);
        Assert.DoesNotContain("tok-9c41f2e7a0b35d68", stored);
        Assert.DoesNotContain(key, stored);
        Assert.True(UrlProtector.IsEncrypted(stored));
    }

    [Fact]
    public void Protect_SameUrlTwice_DifferentValues()
    {
        var protector = Protector(NewKey());
        Assert.NotEqual(protector.Protect(Url, Row), protector.Protect(Url, Row));
    }

    [Fact]
    public void Unprotect_UnderAnotherKey_FailsNamingTheKeyIdOnly()
    {
        var stored = Protector(NewKey()).Protect(Url, Row);
        var other = NewKey();

        var error = Assert.Throws<UrlProtectionException>(() => Protector(other).Unprotect(stored, Row));

        Assert.Contains("Database:UrlKeys", error.Message);
        Assert.Contains(stored.Split(':')[1], error.Message);
        Assert.Contains(Row.ToString(), error.Message);
        Assert.DoesNotContain(other, error.Message);
        Assert.DoesNotContain(stored.Split(':')[2], error.Message);
    }

    [Fact]
    public void Unprotect_SameKeyIdButAnotherKey_FailsAuthentication()
    {
        // A forged key id in front of a value made under another key: the tag decides, not the label.
        var protector = Protector(NewKey());
        var stored = Protector(NewKey()).Protect(Url, Row).Split(':');
        var relabelled = $"v1:{protector.Protect(Url, Row).Split(':')[1]}:{stored[2]}";

        Assert.Throws<UrlProtectionException>(() => protector.Unprotect(relabelled, Row));
    }

    [Theory]
    [InlineData(0)]   // the nonce
    [InlineData(20)]  // the ciphertext
    [InlineData(-1)]  // the tag
    public void Unprotect_Tampered_Fails(int at)
    {
        var protector = Protector(NewKey());
        var parts = protector.Protect(Url, Row).Split(':');
        var bytes = Convert.FromBase64String(parts[2]);
        bytes[at >= 0 ? at : bytes.Length + at] ^= 0x01;

        var error = Assert.Throws<UrlProtectionException>(() => protector.Unprotect($"v1:{parts[1]}:{Convert.ToBase64String(bytes)}", Row));
        Assert.Contains("does not authenticate", error.Message);
    }

    [Fact]
    public void Unprotect_CopiedToAnotherRow_Fails()
    {
        var protector = Protector(NewKey());
        var stored = protector.Protect(Url, Row);

        var error = Assert.Throws<UrlProtectionException>(() => protector.Unprotect(stored, Guid.NewGuid()));
        Assert.Contains("another row", error.Message);
    }

    [Theory]
    [InlineData("v1:abc:AAAA")]
    [InlineData("v1:0123456789:AAAA")]
    [InlineData("v1:0123abcd")]
    [InlineData("v2:0123abcd:AAAA")]
    [InlineData("v1:0123ABCD:AAAA")]
    public void Unprotect_NotTheV1Form_Fails(string stored) =>
        Assert.Throws<UrlProtectionException>(() => Protector(NewKey()).Unprotect(stored, Row));

    [Theory]
    [InlineData("!!!not base64!!!")]
    [InlineData("AAAA")]
    public void Unprotect_DamagedPayload_Fails(string payload)
    {
        var protector = Protector(NewKey());
        var id = protector.Protect(Url, Row).Split(':')[1];
        Assert.Throws<UrlProtectionException>(() => protector.Unprotect($"v1:{id}:{payload}", Row));
    }

    [Fact]
    public void Rotation_NewKeyFirst_OldValuesStillRead_NewOnesUnderTheNewKey()
    {
        var old = NewKey();
        var stored = Protector(old).Protect(Url, Row);
        var fresh = NewKey();
        var rotated = Protector($"{fresh}, {old}");

        Assert.Equal(Url, rotated.Unprotect(stored, Row));
        Assert.True(rotated.NeedsReencryption(stored));
        var again = rotated.Protect(Url, Row);
        Assert.Equal(UrlKeyRing.IdOf(Convert.FromBase64String(fresh)), again.Split(':')[1]);
        Assert.False(rotated.NeedsReencryption(again));
        // Once the old key is dropped, what it encrypted no longer reads; what was re-encrypted does.
        Assert.Throws<UrlProtectionException>(() => Protector(fresh).Unprotect(stored, Row));
        Assert.Equal(Url, Protector(fresh).Unprotect(again, Row));
    }

    [Theory]
    [InlineData(Url, false)]
    [InlineData("http://portal.example/p/x", false)]
    [InlineData("", false)]
    [InlineData("v1:0123abcd:AAAA", true)]
    [InlineData("v12:0123abcd:AAAA", true)]
    [InlineData("v:x", false)]
    [InlineData("vx:0123abcd:AAAA", false)]
    public void IsEncrypted_TellsAClearLegacyValueFromAnEncryptedOne(string stored, bool encrypted) =>
        Assert.Equal(encrypted, UrlProtector.IsEncrypted(stored));

    [Fact]
    public void Read_ClearLegacyValue_PassesThrough_AndNeedsReencryption()
    {
        var protector = Protector(NewKey());
        Assert.Equal(Url, protector.Read(Url, Row));
        Assert.True(protector.NeedsReencryption(Url));
        Assert.Equal(Url, protector.Read(protector.Protect(Url, Row), Row));
    }

    [Fact]
    public void KeyRing_SeveralKeys_FirstEncrypts_AllDecrypt_IdsRevealNothing()
    {
        var first = NewKey();
        var second = NewKey();
        var ring = Ring($" {first} ,{second}");

        Assert.Equal(2, ring.Keys.Count);
        Assert.Equal(Convert.FromBase64String(first), ring.Current.Key);
        Assert.NotNull(ring.Find(UrlKeyRing.IdOf(Convert.FromBase64String(second))));
        Assert.Matches("^[0-9a-f]{8}$", ring.Current.Id);
        Assert.DoesNotContain(ring.Current.Id, Convert.ToHexStringLower(Convert.FromBase64String(first)));
    }

    public static TheoryData<string?, string> BadSettings()
    {
        var good = NewKey();
        return new()
        {
            { null, "Database:UrlKeys is missing" },
            { "", "Database:UrlKeys is missing" },
            { "   ", "Database:UrlKeys is missing" },
            { "not-base64-at-all!", "Key 1 of Database:UrlKeys is not base64" },
            { Convert.ToBase64String(RandomNumberGenerator.GetBytes(16)), "Key 1 of Database:UrlKeys is 16 bytes; it must be 32" },
            { Convert.ToBase64String(RandomNumberGenerator.GetBytes(64)), "Key 1 of Database:UrlKeys is 64 bytes" },
            { Convert.ToBase64String(new byte[32]), "all zeros" },
            { $"{good},", "Key 2 of Database:UrlKeys is empty" },
            { $"{good},,{NewKey()}", "Key 2 of Database:UrlKeys is empty" },
            { $"{good},{good}", "Key 2 of Database:UrlKeys repeats key 1" },
            { $"{good};{NewKey()}", "Key 1 of Database:UrlKeys is not base64" },
        };
    }

    [Theory]
    [MemberData(nameof(BadSettings))]
    public void BadSetting_RefusedNamingTheSetting_NeverEchoingAKey(string? setting, string expected)
    {
        var validator = new UrlKeyOptionsValidator();

        var result = validator.Validate(Options.DefaultName, new UrlKeyOptions { UrlKeys = setting });

        Assert.True(result.Failed);
        var message = string.Join("\n", result.Failures!);
        Assert.Contains(expected, message);
        Assert.Contains("Database__UrlKeys", message);
        // No key, nor any run of its text, in the message.
        foreach (var part in (setting ?? "").Split([',', ';'], StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            for (var i = 0; i + 8 <= part.Length; i++)
                Assert.DoesNotContain(part.Substring(i, 8), message);
    }

    [Fact]
    public void GoodSetting_Validates_AndTheOptionsGiveTheRing()
    {
        var key = NewKey();
        var options = new UrlKeyOptions { UrlKeys = key };

        Assert.True(new UrlKeyOptionsValidator().Validate(Options.DefaultName, options).Succeeded);
        Assert.Equal(Convert.FromBase64String(key), options.Ring.Current.Key);
    }

    [Fact]
    public void MissingSetting_StopsAWorkerStart_NamingTheSetting()
    {
        // As the host will register it (the lead wires it in): bound from Database, validated at start.
        using var services = new ServiceCollection()
            .AddSingleton<IConfiguration>(new ConfigurationBuilder().AddInMemoryCollection([]).Build())
            .AddSingleton<IValidateOptions<UrlKeyOptions>, UrlKeyOptionsValidator>()
            .AddOptions<UrlKeyOptions>().BindConfiguration(UrlKeyOptions.Section).Services
            .BuildServiceProvider();

        var error = Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<IOptions<UrlKeyOptions>>().Value);
        Assert.Contains("Database:UrlKeys is missing", error.Message);
    }
}
