import { defineSearchAttributeKey } from '@temporalio/common';

/** Custom search attributes, registered on the dev server and filterable in the Temporal Web UI. */
export const MerchantId = defineSearchAttributeKey('MerchantId', 'KEYWORD');
export const BusinessStatus = defineSearchAttributeKey('BusinessStatus', 'KEYWORD');

export const searchAttributes = [MerchantId, BusinessStatus];

/** Built in: set by Temporal on every workflow a Schedule starts, the time it was due. */
export const ScheduledStartTime = defineSearchAttributeKey('TemporalScheduledStartTime', 'DATETIME');
