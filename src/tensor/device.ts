// Devices: 'cpu' always; 'cuda' / 'cuda:N' when the linked libtorch has CUDA and a GPU is present.
import { native } from '../binding/native.js';
import { describe } from './checks.js';

export type Device = 'cpu' | 'cuda' | `cuda:${number}`;

export function cudaAvailable(): boolean {
  return native.cudaAvailable();
}

export function checkDevice(device: unknown): Device {
  if (device === 'cpu') return device;
  if (typeof device === 'string' && /^cuda(:\d+)?$/.test(device)) {
    if (!native.cudaAvailable()) {
      throw new Error(`Device '${device}' was requested but the linked libtorch ${native.torchVersion()} has no CUDA (or no GPU is visible): ` +
        'rebuild against a CUDA libtorch (LIBTORCH=/path/to/libtorch npm run build:native) or use "cpu"');
    }
    const index = device.includes(':') ? Number(device.split(':')[1]) : 0;
    const count = native.cudaDeviceCount();
    if (index >= count) throw new Error(`Device '${device}' was requested but only ${count} CUDA device(s) are visible`);
    return device as Device;
  }
  throw new TypeError(`Expected 'cpu', 'cuda' or 'cuda:N' for device but received ${describe(device)}`);
}
