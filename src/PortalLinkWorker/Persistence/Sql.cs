using Npgsql;
using NpgsqlTypes;

namespace PortalLinkWorker.Persistence;

/// <summary>The few helpers every statement of this folder uses: columns read by name, nullable parameters.</summary>
internal static class Sql
{
    public static T Get<T>(this NpgsqlDataReader reader, string column) => reader.GetFieldValue<T>(reader.GetOrdinal(column));

    public static T? GetOrNull<T>(this NpgsqlDataReader reader, string column) where T : class
    {
        var ordinal = reader.GetOrdinal(column);
        return reader.IsDBNull(ordinal) ? null : reader.GetFieldValue<T>(ordinal);
    }

    public static T? GetOrNullValue<T>(this NpgsqlDataReader reader, string column) where T : struct
    {
        var ordinal = reader.GetOrdinal(column);
        return reader.IsDBNull(ordinal) ? null : reader.GetFieldValue<T>(ordinal);
    }

    public static NpgsqlParameter Nullable(object? value, NpgsqlDbType type) =>
        new() { NpgsqlDbType = type, Value = value ?? DBNull.Value };

    public static NpgsqlParameter Nullable(string name, object? value, NpgsqlDbType type) =>
        new(name, type) { Value = value ?? DBNull.Value };
}
