/** docs/API.md's route table is the API's route table: every route, its method and its access rule. */
import { ROUTE_RULES } from '../../apps/api/src/access';
import { readDoc, sections, tableRows } from './markdown';

describe('docs/API.md routes', () => {
  it('lists exactly the routes the API serves, each with its access rule', () => {
    const rows = tableRows(sections(readDoc('docs/API.md')).get('Routes') ?? '');
    const documented = rows.map(
      ([method = '', route = '', access = '']) =>
        `${method} ${route.replace(/`/g, '')} ${access.replace(/`/g, '')}`,
    );
    expect(documented.length).toBeGreaterThan(0);
    expect(documented.sort()).toEqual(
      ROUTE_RULES.map((rule) => `${rule.method} ${rule.path} ${rule.access}`).sort(),
    );
  });
});
