import currencyCodes from 'currency-codes';

/**
 * ISO 4217 codes that are not money one can send (precious metals, funds units, SDR, the testing
 * and "no currency" codes); their minor unit is "N.A." in the standard.
 */
const NOT_TRANSFERABLE = new Set([
  'XAG',
  'XAU',
  'XPD',
  'XPT',
  'XBA',
  'XBB',
  'XBC',
  'XBD',
  'XDR',
  'XSU',
  'XTS',
  'XUA',
  'XXX',
  'BOV',
  'CHE',
  'CHW',
  'CLF',
  'COU',
  'MXV',
  'USN',
  'UYI',
  'UYW',
]);

/** ISO 4217 currency code -> number of minor-unit decimals (USD 2, JPY 0, BHD 3). */
const MINOR_UNITS: ReadonlyMap<string, number> = new Map(
  currencyCodes.data
    .filter((entry) => !NOT_TRANSFERABLE.has(entry.code) && Number.isInteger(entry.digits))
    .map((entry) => [entry.code, entry.digits]),
);

export function minorUnitsOf(currency: string): number | undefined {
  return MINOR_UNITS.get(currency);
}

export function isSupportedCurrency(currency: string): boolean {
  return MINOR_UNITS.has(currency);
}

export function supportedCurrencies(): string[] {
  return [...MINOR_UNITS.keys()].sort();
}
