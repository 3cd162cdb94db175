/** The Stork tab icon: a data cylinder with an arrow leaving it (themed by jp-icon3). */
import { LabIcon } from '@jupyterlab/ui-components';

const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">
  <ellipse class="jp-icon3" stroke="#616161" fill="none" stroke-width="2" cx="8" cy="5.5" rx="6" ry="2.5"/>
  <path class="jp-icon3" stroke="#616161" fill="none" stroke-width="2" d="M2 5.5v13c0 1.4 2.7 2.5 6 2.5M14 5.5v6.5M2 12c0 1.4 2.7 2.5 6 2.5"/>
  <path class="jp-icon3" stroke="#616161" fill="none" stroke-width="2" stroke-linecap="round" stroke-linejoin="round" d="M11 17.5h11M18.5 14l3.5 3.5-3.5 3.5"/>
</svg>`;

export const storkIcon = new LabIcon({ name: 'stork-jupyter:stork', svgstr: svg });
