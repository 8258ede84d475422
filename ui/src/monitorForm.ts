/** The check intervals offered for a price monitor (seconds, as the API takes them), in words. */
import { every } from './format';

export const INTERVALS = [60, 900, 3600, 21_600, 86_400].map((value) => ({ value, label: every(value) }));
