using System.Text;

namespace FamiljecentralHub.Consent.Features.Ledger.Anchoring;

/// <summary>
/// The checkpoint file: JSON lines, appended only, each line written whole and flushed to disk before the next. A crash
/// mid-write can leave at most a torn last line; the earlier lines are never rewritten. The next append cuts that torn
/// remnant off first (it was never a checkpoint), so every line before the end is whole; a reader meanwhile ignores a
/// last line that lacks its newline and says so.
/// </summary>
public static class CheckpointFile
{
    // A line is a few hundred bytes; the tail read for the newest line is generously larger.
    private const int TailBytes = 16 * 1024;

    // Holds no personal data (seq numbers, hashes, signatures): readable by operators who copy it off the machine.
    private const UnixFileMode Mode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;

    public sealed record Line(long Number, string Text, bool Terminated);

    /// <summary>Appends one line and flushes it to disk; callers serialise (the checkpointer's database lock).</summary>
    public static void Append(string path, string line)
    {
        if (line.Contains('\n', StringComparison.Ordinal))
        {
            throw new ArgumentException("A checkpoint is one line.", nameof(line));
        }

        var options = new FileStreamOptions { Mode = FileMode.OpenOrCreate, Access = FileAccess.ReadWrite, Share = FileShare.ReadWrite };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = Mode;
        }

        using var stream = new FileStream(path, options);
        var end = WholeLinesEnd(stream);
        if (end != stream.Length)
        {
            stream.SetLength(end);
        }

        stream.Position = end;
        stream.Write(Encoding.UTF8.GetBytes(line + "\n"));
        stream.Flush(flushToDisk: true);
    }

    /// <summary>Every line, in order, numbered from 1; the last one is not <see cref="Line.Terminated"/> when a write was torn.</summary>
    public static IEnumerable<Line> ReadAll(string path)
    {
        if (!File.Exists(path))
        {
            yield break;
        }

        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        var terminated = stream.Length == 0 || LastByte(stream) == '\n';
        stream.Position = 0;
        using var reader = new StreamReader(stream, Encoding.UTF8);
        long number = 0;
        string? next = reader.ReadLine();
        while (next is not null)
        {
            var current = next;
            next = reader.ReadLine();
            number++;
            yield return new Line(number, current, next is not null || terminated);
        }
    }

    /// <summary>The whole lines at the end of the file, newest last (a torn remnant is left out).</summary>
    public static IReadOnlyList<string> ReadTail(string path)
    {
        if (!File.Exists(path))
        {
            return [];
        }

        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        var end = WholeLinesEnd(stream);
        var start = Math.Max(0, end - TailBytes);
        var buffer = new byte[end - start];
        stream.Position = start;
        stream.ReadExactly(buffer);
        var lines = Encoding.UTF8.GetString(buffer).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        // The first piece of a tail that starts mid-file is part of a line.
        return start == 0 ? lines : lines.Skip(1).ToArray();
    }

    private static int LastByte(FileStream stream)
    {
        stream.Position = stream.Length - 1;
        return stream.ReadByte();
    }

    /// <summary>Where the last whole line ends: the file's length, or just after its last newline when a write was torn.</summary>
    private static long WholeLinesEnd(FileStream stream)
    {
        var length = stream.Length;
        if (length == 0 || LastByte(stream) == '\n')
        {
            return length;
        }

        var buffer = new byte[8192];
        var position = length;
        while (position > 0)
        {
            var count = (int)Math.Min(buffer.Length, position);
            position -= count;
            stream.Position = position;
            stream.ReadExactly(buffer, 0, count);
            var newline = Array.LastIndexOf(buffer, (byte)'\n', count - 1, count);
            if (newline >= 0)
            {
                return position + newline + 1;
            }
        }

        return 0;
    }
}
