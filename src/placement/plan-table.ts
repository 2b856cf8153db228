/** The README's plan table: who holds which items, for the CLI, the demo and the simulator. */
import type { FlipConfig } from '../config/index.js';
import type { Placement } from './placement.js';

/**
 * One column a server, in the order the config file lists them, one row per item a server
 * holds, as in the original README. A down server shows `x` in its first row; arbiters and
 * servers holding nothing show an empty column.
 */
export function renderPlanTable(
  config: Pick<FlipConfig, 'servers_as_written'>,
  placement: Placement,
  down: ReadonlySet<string>,
): string {
  const columns = config.servers_as_written.map((id) => {
    const items = placement.holdings.get(id) ?? [];
    return { id, cells: down.has(id) ? ['x', ...items] : items };
  });
  const rows = Math.max(0, ...columns.map((column) => column.cells.length));
  const widths = columns.map((column) =>
    Math.max(column.id.length, ...column.cells.map((cell) => cell.length)),
  );
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i]! + 2)))
      .join('')
      .trimEnd();
  const out = [line(columns.map((column) => column.id))];
  for (let row = 0; row < rows; row++) out.push(line(columns.map((column) => column.cells[row] ?? '')));
  return out.join('\n');
}
