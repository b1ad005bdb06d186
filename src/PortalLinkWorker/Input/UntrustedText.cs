using System.Globalization;
using System.Text;

namespace PortalLinkWorker.Input;

/// <summary>
/// Text that came from outside (a message, a campaign CSV, an Upflow answer) on its way to a log line, an event or the
/// status page. <c>char.IsControl</c> is not enough: it misses the line and paragraph separators (U+2028, U+2029, which
/// many log viewers break lines on) and the format characters (bidi overrides such as U+202E, zero-width characters, the
/// BOM), which make a text read other than it is. So a code point is unsafe when its Unicode category is Cc, Cf, Zl or
/// Zp, or when it is half of a surrogate pair (not text at all: System.Text.Json and Npgsql refuse it).
/// </summary>
public static class UntrustedText
{
    /// <summary>The most characters of an invalid value echoed in an event, a log line or an error message: enough to
    /// recognise the value, and a bound however large the input was.</summary>
    public const int MaxEchoLength = 200;

    /// <summary>What an unsafe code point is shown as in an echo.</summary>
    public const char Replacement = '?';

    /// <summary>Appended to an echo that was cut.</summary>
    public const string CutMark = "…";

    /// <summary>True for a code point of category Cc, Cf, Zl or Zp.</summary>
    public static bool IsUnsafe(Rune rune) => Rune.GetUnicodeCategory(rune) is UnicodeCategory.Control or UnicodeCategory.Format
        or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator;

    /// <summary>The first unsafe code point of <paramref name="value"/> described for an error message ("U+2028 at
    /// character 7"), or null when there is none.</summary>
    public static string? FindUnsafe(string? value)
    {
        if (string.IsNullOrEmpty(value))
            return null;
        var span = value.AsSpan();
        for (var i = 0; i < span.Length;)
        {
            if (Rune.DecodeFromUtf16(span[i..], out var rune, out var consumed) != System.Buffers.OperationStatus.Done)
                return $"a lone surrogate U+{(int)span[i]:X4} at character {i + 1}";
            if (IsUnsafe(rune))
                return $"U+{rune.Value:X4} ({Rune.GetUnicodeCategory(rune)}) at character {i + 1}";
            i += consumed;
        }
        return null;
    }

    /// <summary>At most <paramref name="maxLength"/> characters of <paramref name="value"/> (then <see cref="CutMark"/>),
    /// every unsafe code point replaced by <see cref="Replacement"/>; a surrogate pair is never split.</summary>
    public static string Clean(string? value, int maxLength = MaxEchoLength)
    {
        if (string.IsNullOrEmpty(value))
            return "";
        var span = value.AsSpan();
        var cleaned = new StringBuilder(Math.Min(value.Length, maxLength) + CutMark.Length);
        var i = 0;
        while (i < span.Length)
        {
            var status = Rune.DecodeFromUtf16(span[i..], out var rune, out var consumed);
            var safe = status == System.Buffers.OperationStatus.Done && !IsUnsafe(rune);
            var length = safe ? rune.Utf16SequenceLength : 1;
            if (cleaned.Length + length > maxLength)
                break;
            if (safe)
                cleaned.Append(span.Slice(i, consumed));
            else
                cleaned.Append(Replacement);
            i += consumed;
        }
        if (i < span.Length)
            cleaned.Append(CutMark);
        return cleaned.ToString();
    }

    /// <summary>The longest start of <paramref name="value"/> that takes at most <paramref name="maxBytes"/> bytes in
    /// UTF-8 — what a PostgreSQL column or index limits (a btree entry holds about 2,700 bytes), not characters: 1,024 CJK
    /// characters are 3,072 bytes. NUL and lone surrogates, which PostgreSQL text cannot hold, become U+FFFD. A surrogate
    /// pair is never split.</summary>
    public static string CutToUtf8Bytes(string value, int maxBytes)
    {
        var span = value.AsSpan();
        var kept = new StringBuilder(Math.Min(value.Length, maxBytes));
        var bytes = 0;
        for (var i = 0; i < span.Length;)
        {
            if (Rune.DecodeFromUtf16(span[i..], out var rune, out var consumed) != System.Buffers.OperationStatus.Done || rune.Value == 0)
                rune = Rune.ReplacementChar;
            if (bytes + rune.Utf8SequenceLength > maxBytes)
                break;
            bytes += rune.Utf8SequenceLength;
            kept.Append(rune.ToString());
            i += consumed;
        }
        return kept.ToString();
    }
}
