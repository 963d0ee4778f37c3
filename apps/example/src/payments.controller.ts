import { Controller } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { Request as ConveyorRequest } from '@conveyor/nestjs';

@Controller()
export class PaymentsController {
  /** Runs once per order even when the caller resends (same correlation id). */
  @ConveyorRequest('payments.charge')
  charge(@Payload() charge: { orderId: string; amount: number }): { paymentId: string; amount: number } {
    return { paymentId: `pay-${charge.orderId}`, amount: charge.amount };
  }
}
