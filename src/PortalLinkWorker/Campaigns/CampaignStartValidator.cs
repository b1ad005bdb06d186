using PortalLinkContracts;
using PortalLinkWorker.Links;

namespace PortalLinkWorker.Campaigns;

/// <summary>
/// Checks a <see cref="StartPortalLinkCampaign"/> as a whole before anything is recorded, so that a campaign either
/// starts or is refused with its reason — never recorded halfway and left "running" with a total of 0. A customer id that
/// is merely invalid (not a UUID, a line break in it) does not refuse the campaign: it is recorded and fails as
/// <c>InvalidRequest</c> like any request. One that PostgreSQL cannot store as sent (NUL, half a surrogate pair) does.
/// </summary>
public static class CampaignStartValidator
{
    /// <summary>Null when the campaign may start, else the reason (bounded, no text of the message in it but the name's
    /// problem).</summary>
    public static string? Validate(StartPortalLinkCampaign start, int maxCustomerIds)
    {
        if (start.CampaignId == Guid.Empty)
            return $"CampaignId is missing or empty ({start.CustomerIds?.Length ?? 0} customers); it is the campaign's idempotency key and is required.";
        if (PortalLinkRequestValidator.ValidateCampaignName(start.Name) is { } name)
            return $"Campaign {start.CampaignId}: {name}";
        var customers = start.CustomerIds ?? [];
        if (customers.Length > maxCustomerIds)
            return $"Campaign {start.CampaignId} names {customers.Length:N0} customers; at most {maxCustomerIds:N0} per message " +
                   $"({CampaignOptions.Section}:{nameof(CampaignOptions.MaxCustomerIdsPerMessage)}). Start a bigger campaign from a CSV file " +
                   "(`PortalLinkWorker campaign start --file`), or as several campaigns.";
        for (var i = 0; i < customers.Length; i++)
            if (customers[i] is { } id && Unstorable(id) is { } problem)
                return $"Campaign {start.CampaignId}: CustomerIds[{i}] contains {problem}, which cannot be stored; nothing was recorded.";
        return null;
    }

    /// <summary>NUL or a lone surrogate: PostgreSQL text holds neither (22021), and replacing them would make up an id.</summary>
    private static string? Unstorable(string id)
    {
        if (id.Contains('\0'))
            return "U+0000 (NUL)";
        for (var i = 0; i < id.Length; i++)
        {
            if (char.IsHighSurrogate(id[i]) && i + 1 < id.Length && char.IsLowSurrogate(id[i + 1]))
                i++;
            else if (char.IsSurrogate(id[i]))
                return $"a lone surrogate at character {i + 1}";
        }
        return null;
    }
}
